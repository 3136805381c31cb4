import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import { addKeywords } from '../../lib/policy/keywords.js';
import { tinyPng } from '../fixtures/images.js';

const ajv = addKeywords(new Ajv({ strict: true, strictTypes: false }));
const check = (schema: object, data: unknown) => ajv.validate(schema, data);

describe('custom keywords', () => {
  it('maxBytes / minBytes count UTF-8 bytes, not characters', () => {
    assert.equal(check({ maxBytes: 6 }, '一二'), true);
    assert.equal(check({ maxBytes: 6 }, '一二三'), false); // 3 characters, 9 bytes
    assert.equal(check({ maxLength: 6 }, '一二三'), true); // what plain JSON Schema would have allowed
    assert.equal(check({ minBytes: 1 }, ''), false);
  });

  it('base64MaxBytes measures the decoded size and refuses invalid base64', () => {
    const b64 = Buffer.alloc(100).toString('base64');
    assert.equal(check({ base64MaxBytes: 100 }, b64), true);
    assert.equal(check({ base64MaxBytes: 99 }, b64), false);
    assert.equal(check({ base64MaxBytes: 100 }, 'not*base64'), false);
    // canonical base64 only: whole 4-character groups, "=" padding only at the end
    for (const [s, ok] of [['QUI=', true], ['QQ==', true], ['QUJD', true], ['Q===', false], ['QQ=A', false], ['QUJDR', false], ['QUJD\n', false]] as const) {
      assert.equal(check({ base64MaxBytes: 100 }, s), ok, s);
    }
  });

  it('base64 keywords read the 13 MiB base64 of a 10 MiB image (regression: a regex over 4-character groups overflowed the stack)', () => {
    const b64 = Buffer.alloc(10 * 1024 * 1024, 0x42).toString('base64');
    assert.equal(check({ base64MaxBytes: 10 * 1024 * 1024 }, b64), true);
    assert.equal(check({ base64MaxBytes: 10 * 1024 * 1024 - 1 }, b64), false);
  });

  it('base64Format tells PNG and JPEG by their magic numbers', () => {
    const png = tinyPng().toString('base64');
    assert.equal(check({ base64Format: ['png'] }, png), true);
    assert.equal(check({ base64Format: ['jpeg'] }, png), false);
    assert.equal(check({ base64Format: ['png', 'jpeg'] }, Buffer.from('GIF89a....').toString('base64')), false);
    assert.throws(() => ajv.compile({ base64Format: ['bmp'] }));
  });

  it('md5Matches compares the md5 of the decoded bytes, case-insensitively', () => {
    const png = tinyPng();
    const md5 = createHash('md5').update(png).digest('hex');
    const schema = { md5Matches: { data: 'base64', digest: 'md5' } };
    assert.equal(check(schema, { base64: png.toString('base64'), md5 }), true);
    assert.equal(check(schema, { base64: png.toString('base64'), md5: md5.toUpperCase() }), true);
    assert.equal(check(schema, { base64: png.toString('base64'), md5: '0'.repeat(32) }), false);
    assert.equal(check(schema, { base64: png.toString('base64') }), false);
  });

  it('anyStringMatches finds a string at any depth', () => {
    const schema = { anyStringMatches: 'AKIA[0-9A-Z]{16}' };
    assert.equal(check(schema, { a: [{ b: { c: 'key AKIAIOSFODNN7EXAMPLE' } }] }), true);
    assert.equal(check(schema, { a: [{ b: { c: 'nothing here' } }], n: 5 }), false);
    // zero-width characters are invisible in chat and must not split a secret for the pattern
    assert.equal(check(schema, { c: 'AKIA\u200bIOSFODNN7\u2060EXAMPLE' }), true);
  });

  it('anyStringMatches skips only the values at its except pointers ("*" is any key or index)', () => {
    const schema = { anyStringMatches: { pattern: 'AKIA[0-9A-Z]{16}', except: ['/image/base64', '/stream/msg_item/*/image/base64'] } };
    const key = 'AKIAIOSFODNN7EXAMPLE';
    assert.equal(check(schema, { image: { base64: key, md5: 'x' } }), false);
    assert.equal(check(schema, { stream: { msg_item: [{ image: { base64: 'x' } }, { image: { base64: key } }] } }), false);
    // beside the skipped value, everything is scanned: siblings, other depths, the key names
    assert.equal(check(schema, { image: { base64: 'x', md5: key } }), true);
    assert.equal(check(schema, { stream: { content: key, msg_item: [{ image: { base64: key } }] } }), true);
    assert.equal(check(schema, { base64: key }), true);
    assert.equal(check(schema, { image: { [key]: 'x' } }), true);
    assert.equal(check({ anyStringMatches: { pattern: 'AKIA[0-9A-Z]{16}' } }, { a: key }), true);
    assert.throws(() => ajv.compile({ anyStringMatches: { pattern: 'x', skip: ['/a'] } }));
    assert.throws(() => ajv.compile({ anyStringMatches: { pattern: 'x', except: ['a'] } }));
  });
});
