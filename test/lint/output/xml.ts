// A strict little XML reader for the JUnit tests: it accepts only well-formed XML (balanced
// tags, quoted attributes, no raw '<' or stray '&') and returns the element tree.
export interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const entities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decode(text: string, where: string): string {
  if (text.includes("<")) throw new Error(`raw '<' in ${where}`);
  return text.replace(/&([a-z]+);|&/g, (match, name: string | undefined) => {
    const value = name ? entities[name] : undefined;
    if (value === undefined) throw new Error(`stray '${match}' in ${where}`);
    return value;
  });
}

export function parseXml(xml: string): XmlElement {
  let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const root: XmlElement = { name: "#document", attributes: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  while (rest.length > 0) {
    const top = stack.at(-1) as XmlElement;
    const close = /^<\/([\w:.-]+)\s*>/.exec(rest);
    if (close) {
      if (close[1] !== top.name) throw new Error(`</${close[1]}> closes <${top.name}>`);
      stack.pop();
      rest = rest.slice(close[0].length);
      continue;
    }
    const open = /^<([\w:.-]+)((?:\s+[\w:.-]+="[^"]*")*)\s*(\/?)>/.exec(rest);
    if (open) {
      const attributes: Record<string, string> = {};
      for (const [, key, value] of (open[2] ?? "").matchAll(/([\w:.-]+)="([^"]*)"/g)) {
        if (key === undefined || key in attributes) throw new Error(`duplicate or bad attribute in <${open[1]}>`);
        attributes[key] = decode(value ?? "", `attribute ${key}`);
      }
      const element: XmlElement = { name: open[1] ?? "", attributes, children: [], text: "" };
      top.children.push(element);
      if (open[3] !== "/") stack.push(element);
      rest = rest.slice(open[0].length);
      continue;
    }
    if (rest.startsWith("<")) throw new Error(`malformed markup at ${JSON.stringify(rest.slice(0, 40))}`);
    const end = rest.indexOf("<");
    const text = end === -1 ? rest : rest.slice(0, end);
    if (stack.length === 1 && text.trim() !== "") throw new Error("text outside the root element");
    top.text += decode(text, `<${top.name}>`);
    rest = rest.slice(text.length);
  }
  if (stack.length !== 1) throw new Error(`<${stack.at(-1)?.name}> is never closed`);
  if (root.children.length !== 1) throw new Error("expected exactly one root element");
  return root.children[0] as XmlElement;
}
