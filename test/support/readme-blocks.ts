/**
 * Fenced code blocks of a Markdown file that are marked for testing. The marker is an HTML
 * comment (invisible once rendered) on its own line, followed by the block, with at most blank
 * lines between them:
 *
 * ````md
 * <!-- readme-test: quick-start/src/main.ts -->
 *
 * ```ts
 * …
 * ```
 * ````
 *
 * The id (`quick-start/src/main.ts`) is the test's name for the block; what it does with it is
 * up to the test.
 */
export interface MarkedBlock {
  readonly id: string;
  /** The fence's info string: `ts`, `sh`, `json`… */
  readonly lang: string;
  /** The block's lines, without the fences, ending with a newline. */
  readonly code: string;
  /** 1-based line of the marker, for messages. */
  readonly line: number;
}

const MARKER = /^<!--\s*readme-test:\s*(\S+)\s*-->$/;
const FENCE_OPEN = /^(`{3,})\s*([\w-]*)/;

/** The marked blocks of `markdown` by id. Throws on a marker without a block, or a repeated id. */
export function markedBlocks(markdown: string): Map<string, MarkedBlock> {
  const lines = markdown.split('\n');
  const blocks = new Map<string, MarkedBlock>();
  for (let index = 0; index < lines.length; index++) {
    const marker = MARKER.exec(lines[index].trim());
    if (marker === null) {
      continue;
    }
    const id = marker[1];
    let open = index + 1;
    while (open < lines.length && lines[open].trim() === '') {
      open++;
    }
    const fence = FENCE_OPEN.exec(lines[open] ?? '');
    if (fence === null) {
      throw new Error(
        `README line ${index + 1}: the marker '${id}' is not followed by a code block`,
      );
    }
    const close = lines.findIndex((line, at) => at > open && line.trim() === fence[1]);
    if (close === -1) {
      throw new Error(`README line ${open + 1}: the block of '${id}' is not closed`);
    }
    if (blocks.has(id)) {
      throw new Error(`README line ${index + 1}: '${id}' marks two blocks`);
    }
    blocks.set(id, {
      id,
      lang: fence[2],
      code: `${lines.slice(open + 1, close).join('\n')}\n`,
      line: index + 1,
    });
    index = close;
  }
  return blocks;
}
