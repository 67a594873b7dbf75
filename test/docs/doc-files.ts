import * as fs from 'fs';
import * as path from 'path';

/*
 * The documentation as data: README.md and every page under docs/, their fenced code blocks and
 * sections, for the tests that compile, run and check what the pages say.
 */

export const ROOT = path.resolve(__dirname, '..', '..');

/** README.md and docs/*.md, as paths relative to the repository. */
export function docFiles(): string[] {
  const pages = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...pages.map((f) => `docs/${f}`)];
}

export function readDoc(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8');
}

/** A fenced code block. */
export interface FencedBlock {
  /** The file it is in. */
  readonly file: string;
  /** 1-based line of its opening fence. */
  readonly line: number;
  /** The first word of the info string (`ts`, `bash`, ...); empty when the fence names none. */
  readonly language: string;
  /** The whole info string (`ts nofixture`). */
  readonly info: string;
  /** The lines between the fences, with the fence's indentation removed. */
  readonly code: string;
}

/** The fenced code blocks of `markdown` (``` and ~~~ fences, indented ones inside lists included). */
export function fencedBlocks(markdown: string, file = 'README.md'): FencedBlock[] {
  const lines = markdown.split('\n');
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const close = lines.findIndex((l, j) => j > i && new RegExp(`^ *${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`).test(l));
    if (close < 0) {
      throw new Error(`${file}:${i + 1}: the code block opened here is never closed`);
    }
    const body = lines.slice(i + 1, close).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    blocks.push({ file, line: i + 1, language: info.trim().split(/\s+/)[0] ?? '', info: info.trim(), code: body.join('\n') });
    i = close;
  }
  return blocks;
}

/** Whether a block is TypeScript that the example tests compile. */
export function isTypeScript(block: FencedBlock): boolean {
  return block.language === 'ts' || block.language === 'typescript';
}

/**
 * The lines of the section under `heading` (a whole heading line, e.g. `## Quick start`), up to the
 * next heading of the same or a higher level. Headings inside code blocks do not count.
 */
export function section(markdown: string, heading: string, file = 'README.md'): string {
  const level = /^(#+) /.exec(heading)?.[1].length;
  if (!level) throw new Error(`"${heading}" is not a markdown heading`);
  const lines = markdown.split('\n');
  const inCode = codeLines(lines);
  const start = lines.findIndex((l, i) => !inCode[i] && l.trim() === heading);
  if (start < 0) throw new Error(`${file} has no "${heading}" heading`);
  const end = lines.findIndex((l, i) => i > start && !inCode[i] && /^(#+) /.test(l) && /^(#+) /.exec(l)![1].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The first ```ts block of the section under `heading`. */
export function sectionCode(markdown: string, heading: string, file = 'README.md'): string {
  const block = fencedBlocks(section(markdown, heading, file), file).find(isTypeScript);
  if (!block) throw new Error(`the "${heading}" section of ${file} has no \`\`\`ts code block`);
  return block.code;
}

/** For each line, whether it is inside a fenced code block (fences included). */
function codeLines(lines: string[]): boolean[] {
  const result: boolean[] = [];
  let fence: string | undefined;
  for (const line of lines) {
    const m = /^ *(`{3,}|~{3,})/.exec(line);
    if (fence === undefined && m) {
      fence = m[1];
      result.push(true);
    } else if (fence !== undefined) {
      result.push(true);
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && line.trim() === m[1]) fence = undefined;
    } else {
      result.push(false);
    }
  }
  return result;
}

/** The rows of the first markdown table after `heading` within its section: cells trimmed, header row first. */
export function tableRows(markdown: string, heading: string, file = 'README.md'): string[][] {
  const lines = section(markdown, heading, file).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  if (start < 0) throw new Error(`the "${heading}" section of ${file} has no table`);
  const rows: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    const cells = line.replace(/^\|/, '').replace(/\|\s*$/, '').split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    rows.push(cells);
  }
  return rows;
}
