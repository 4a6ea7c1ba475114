import { InvalidRequestError } from "../../core/errors.js";

/**
 * How a generative model is asked to classify: a prompt template with `{text}` and `{labels}`, optional few-shot
 * examples rendered with the same template and answered, and the answer read back as a label.
 */
export const DEFAULT_CLASSIFY_TEMPLATE =
  "Classify the text as one of: {labels}.\n\nText: {text}\n\nAnswer with the label only.\nLabel:";

export interface Shot {
  text: string;
  label: string;
}

export interface ClassificationPrompt {
  template: string;
  labels: readonly string[];
  shots: readonly Shot[];
}

export function checkTemplate(template: string, where: string): string {
  if (!template.includes("{text}"))
    throw new InvalidRequestError(
      `${where}: a prompt template needs {text} where the item goes`,
      "prompt_template",
    );
  return template;
}

/** The template filled in; few-shot examples first, each followed by its label, one blank line apart. */
export function renderClassificationPrompt(prompt: ClassificationPrompt, text: string): string {
  const fill = (body: string) =>
    prompt.template.replaceAll("{labels}", prompt.labels.join(", ")).replaceAll("{text}", body);
  const shots = prompt.shots.map((shot) => `${fill(shot.text)} ${shot.label}\n\n`).join("");
  return `${shots}${fill(text)}`;
}

/** Lower-cased, punctuation and extra whitespace gone: "  Spam!\n" → "spam". */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * The label a free answer names: the one whose normalised form equals the normalised answer, else the one label
 * whose words appear in it; otherwise none (an invalid answer, counted wrong).
 */
export function matchLabel(answer: string, labels: readonly string[]): string | undefined {
  const normalized = normalizeAnswer(answer);
  const exact = labels.find((label) => normalizeAnswer(label) === normalized);
  if (exact !== undefined) return exact;
  const padded = ` ${normalized} `;
  const contained = labels.filter((label) => padded.includes(` ${normalizeAnswer(label)} `));
  return contained.length === 1 ? contained[0] : undefined;
}
