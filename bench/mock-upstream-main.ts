/** The mock OpenAI upstream as a process of its own, so benchmarks never share its event loop. */
import { startMockUpstream } from "../test/support/mock-upstream.js";

const upstream = await startMockUpstream({}, { record: false });
process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
process.on("SIGTERM", () => void upstream.close().then(() => process.exit(0)));
