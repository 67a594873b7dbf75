/** Quotes an SQL identifier (always, so case and special characters survive). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/** A PostgreSQL array literal (`{"a","b"}`) of text values, for a `$n::type[]` parameter. */
export function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/**
 * An SQL literal of a parameter value: `NULL`, a number or boolean as is (a negative number in
 * parentheses, so that `x - $1` cannot become a comment), anything else as a quoted string of its
 * text (`toText`: node-postgres's own conversion, which writes arrays as array literals).
 */
export function literal(value: unknown, escapeLiteral: (text: string) => string, toText: (value: unknown) => unknown = String): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') {
    const text = String(value);
    return text.startsWith('-') ? `(${text})` : text;
  }
  const text = toText(value);
  if (Buffer.isBuffer(text)) return escapeLiteral(`\\x${text.toString('hex')}`);
  return text === null || text === undefined ? 'NULL' : escapeLiteral(String(text));
}

/**
 * `text` with each `$n` placeholder replaced by the literal of `params[n - 1]`, so that the statement
 * can travel in one simple-protocol message together with others (one network round trip instead of
 * three). Placeholders inside quoted identifiers, string literals and comments are left alone; every
 * parameter must be used, and no placeholder may name a missing one. Statement texts with escape
 * strings (`E'...'`) or dollar quoting are refused: this library's statements use neither.
 */
export function inlineParameters(
  text: string, params: readonly unknown[], escapeLiteral: (text: string) => string, toText?: (value: unknown) => unknown,
): string {
  let out = '';
  let i = 0;
  const used = new Set<number>();
  const copyUntil = (end: number) => {
    out += text.slice(i, end);
    i = end;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      // a doubled quote is the quote itself, not the end
      let j = i + 1;
      while (j < text.length && !(text[j] === c && text[j + 1] !== c)) j += text[j] === c ? 2 : 1;
      if (/[eE]/.test(text[i - 1] ?? '') && c === "'" && !/[A-Za-z0-9_$]/.test(text[i - 2] ?? '')) {
        throw new Error('inlineParameters: escape string constants (E\'...\') are not supported in statement text');
      }
      copyUntil(Math.min(text.length, j + 1));
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      copyUntil(end < 0 ? text.length : end);
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      copyUntil(end < 0 ? text.length : end + 2);
      continue;
    }
    if (c === '$' && text[i + 1] === '$') throw new Error('inlineParameters: dollar-quoted strings ($$...$$) are not supported in statement text');
    if (c === '$' && /[0-9]/.test(text[i + 1] ?? '') && !/[A-Za-z0-9_$]/.test(text[i - 1] ?? '')) {
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j])) j++;
      const n = Number(text.slice(i + 1, j));
      if (n < 1 || n > params.length) throw new Error(`inlineParameters: $${n} names no parameter (${params.length} given)`);
      used.add(n);
      out += literal(params[n - 1], escapeLiteral, toText);
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  if (used.size !== params.length) throw new Error(`inlineParameters: ${params.length - used.size} parameter(s) not used by the statement`);
  return out;
}
