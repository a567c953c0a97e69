// Count Claude tokens (approximately: @anthropic-ai/tokenizer predates current models) for each string in a JSON
// array read from stdin; print a JSON array of counts in the same order.
import { countTokens } from "@anthropic-ai/tokenizer";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const texts = JSON.parse(input);
process.stdout.write(JSON.stringify(texts.map((text) => countTokens(text))) + "\n");
