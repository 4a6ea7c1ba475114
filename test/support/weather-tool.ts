import type { ChatCompletionFunctionTool } from "openai/resources/chat/completions";
import type { FunctionTool } from "openai/resources/responses/responses";

/**
 * A strict function for local function-calling tests: its string is bounded, so even a tiny model's arguments
 * end within a test's token budget.
 */
const WEATHER = {
  name: "get_weather",
  description: "Today's weather in a city",
  parameters: {
    type: "object",
    properties: { city: { type: "string", maxLength: 24 }, unit: { enum: ["c", "f"] } },
    required: ["city", "unit"],
    additionalProperties: false,
  },
  strict: true,
};

/** As chat completions declare it. */
export const weatherChatTool: ChatCompletionFunctionTool = { type: "function", function: WEATHER };

/** As the Responses API declares it: flat. */
export const weatherResponsesTool: FunctionTool = { type: "function", ...WEATHER };
