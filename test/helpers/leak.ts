import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';

/** Shorter strings match by accident too easily to say anything about a leak. */
const MIN_SECRET_LENGTH = 8;

/** An App that synthesizes into a fresh temporary directory. */
export function testApp(): App {
  return new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-leak-')) });
}

/**
 * Synthesize `app` and return the files of its cloud assembly (relative to the assembly
 * directory) that contain `secret` as-is, JSON-escaped (once or twice) or base64-encoded.
 * Every file is read: templates, the manifest, tree.json and asset files and directories.
 */
export function findSecretInAssembly(app: App, secret: string): string[] {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`the secret to look for must be at least ${MIN_SECRET_LENGTH} characters long`);
  }
  const directory = app.synth({ force: true }).directory;
  const needles = encodings(secret).map((form) => Buffer.from(form, 'utf8'));
  const offending: string[] = [];
  for (const file of listFiles(directory)) {
    const content = fs.readFileSync(file);
    if (needles.some((needle) => content.includes(needle))) {
      offending.push(path.relative(directory, file));
    }
  }
  return offending.sort();
}

/** Fail naming every cloud assembly file of `app` that contains `secret` in any form. */
export function expectSecretAbsent(app: App, secret: string): void {
  const offending = findSecretInAssembly(app, secret);
  if (offending.length > 0) {
    throw new Error(`secret found in ${offending.length} cloud assembly file(s):\n${offending.join('\n')}`);
  }
}

/** The forms a string takes when written into templates, JSON files or encoded payloads. */
function encodings(secret: string): string[] {
  const jsonOnce = JSON.stringify(secret).slice(1, -1);
  const jsonTwice = JSON.stringify(jsonOnce).slice(1, -1);
  const forms = new Set([secret, jsonOnce, jsonTwice, ...base64Forms(secret)]);
  return [...forms];
}

/**
 * The base64 text every encoding of a payload that contains `secret` must contain, for each of
 * the three byte alignments the secret can start at; only the characters determined by the
 * secret's bytes alone are kept.
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64').replace(/=+$/, '');
    // Characters mixing filler and secret bits at the start, or ending mid-group at the end, vary.
    const start = offset === 0 ? 0 : 4;
    const fullGroups = Math.floor(padded.length / 3);
    const end = fullGroups * 4;
    if (end - start >= 8) {
      forms.push(encoded.slice(start, end));
      forms.push(encoded.slice(start, end).replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return forms;
}

function listFiles(directory: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) {
      files.push(...listFiles(full));
    } else if (entry.isFile()) {
      files.push(full);
    } else if (entry.isSymbolicLink()) {
      const stat = fs.statSync(full);
      if (stat.isDirectory()) {
        files.push(...listFiles(full));
      } else if (stat.isFile()) {
        files.push(full);
      }
    }
  }
  return files;
}
