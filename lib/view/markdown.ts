/** `markdown(text)`: rendered Markdown in a notebook (computed sentences, headings); the raw text on stdout elsewhere. */
import { emitDisplay, inKernel } from "./kernel";

export function markdown(text: string): void {
  if (inKernel()) emitDisplay({ "text/markdown": text, "text/plain": text });
  else console.log(text);
}
