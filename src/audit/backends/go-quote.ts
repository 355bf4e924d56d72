// Go's fmt %q of a string (strconv.Quote, Go 1.26 strconv/quote.go appendQuotedWith with
// ASCIIonly and graphicOnly false), for the legacy audit line: printable characters as they are,
// `"` and `\` escaped, the rest as \a \b \f \n \r \t \v, \xhh below space and for DEL, \uhhhh
// or \Uhhhhhhhh above. A JavaScript string's lone surrogates stand for what Go's JSON decoder
// makes of them, U+FFFD (the event's strings came to Go through JSON), which is printable.
import { goIsPrint } from "./go-isprint.ts";

const named: Record<number, string> = {
  7: "\\a",
  8: "\\b",
  12: "\\f",
  10: "\\n",
  13: "\\r",
  9: "\\t",
  11: "\\v",
};

const hex = (value: number, width: number) => value.toString(16).padStart(width, "0");

export function goQuote(text: string): string {
  let out = '"';
  for (const char of text.toWellFormed()) {
    const r = char.codePointAt(0) as number;
    if (r === 0x22 || r === 0x5c) out += `\\${char}`;
    else if (goIsPrint(r)) out += char;
    else if (named[r] !== undefined) out += named[r];
    else if (r < 0x20 || r === 0x7f) out += `\\x${hex(r, 2)}`;
    else if (r < 0x10000) out += `\\u${hex(r, 4)}`;
    else out += `\\U${hex(r, 8)}`;
  }
  return `${out}"`;
}
