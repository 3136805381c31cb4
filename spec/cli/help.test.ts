import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnCli } from '../helpers.js';

// Every subcommand answers --help (and -h) with its own usage on stdout and exit 0, whatever else is
// on the line; a usage error exits 2 with that subcommand's usage on stderr (1 stays for real failures).

const SUBCOMMANDS: Array<[string, RegExp]> = [
  ['serve', /^ {2}serve --config FILE/m],
  ['simulator', /^ {2}simulator \[--port 9000\]/m],
  ['demo', /^ {2}demo \[--port 8080\]/m],
  ['token', /^ {2}token --config FILE --sub NAME \[--ttl 8h\]/m],
  ['approvals', /^ {2}approvals list\|show ID\|approve ID\|reject ID/m],
  ['audit', /^ {2}audit verify/m],
  ['policy', /^ {2}policy lint/m],
  ['ca', /^ {2}ca init --config FILE/m],
  ['proxy', /^ {2}proxy check --config FILE/m],
];

/** The CLI's exit code and its two streams apart; `output` (both) for assertion messages. */
async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; output: string }> {
  const p = spawnCli(args);
  let stdout = '';
  let stderr = '';
  p.proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await p.exited;
  return { code, stdout, stderr, output: p.output() };
}

describe('wecom-firewall --help and usage errors', { concurrency: true }, () => {
  for (const [name, usage] of SUBCOMMANDS) {
    it(`${name} --help prints its own usage and exits 0`, async () => {
      for (const args of [[name, '--help'], [name, '-h'], ['help', name]]) {
        const r = await cli(args);
        const { stdout, stderr } = r;
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.output}`);
        assert.match(stdout, usage);
        assert.equal(stderr, '');
        for (const [other, otherUsage] of SUBCOMMANDS) if (other !== name) assert.doesNotMatch(stdout, otherUsage, `${args.join(' ')} shows only ${name}`);
      }
    });

    it(`${name} with an unknown option exits 2 with its usage`, async () => {
      const r = await cli([name, '--frobnicate']);
      const { stdout, stderr } = r;
      assert.equal(r.code, 2, r.output);
      assert.equal(stdout, '');
      assert.match(stderr, /^wecom-firewall: Unknown option '--frobnicate'/);
      assert.match(stderr, usage);
    });
  }

  it('--help after other options still answers with the usage', async () => {
    const r = await cli(['serve', '--config', '/nonexistent.yaml', '--help']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /serve --config FILE/);
  });

  it('with no command or --help, lists every command and exits 0', async () => {
    for (const args of [[], ['--help'], ['-h'], ['help']]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.output);
      for (const [, usage] of SUBCOMMANDS) assert.match(r.stdout, usage);
    }
  });

  const usageErrors: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['help on an unknown command', ['help', 'frobnicate'], /no command "frobnicate"/],
    ['serve without --config', ['serve'], /serve needs --config FILE/],
    ['serve with a stray argument', ['serve', '--config', 'x.yaml', 'extra'], /Unexpected argument 'extra'/],
    ['simulator with a bad port', ['simulator', '--port', 'eighty'], /--port takes a port number/],
    ['simulator with a bad rate', ['simulator', '--rate', 'fast'], /--rate takes a whole number/],
    ['demo with a bad port', ['demo', '--port', '70000'], /--port takes a port number/],
    ['approvals without a verb', ['approvals', '--admin', 'http://127.0.0.1:1', '--token', 'x'], /approvals needs list/],
    ['audit without verify', ['audit'], /audit needs verify/],
    ['policy without a verb', ['policy'], /policy needs history, rollback, lint, test or explain/],
    ['token without --sub', ['token', '--config', 'x.yaml'], /token needs --sub NAME/],
    ['proxy without check', ['proxy', '--config', 'x.yaml'], /proxy needs check/],
    ['proxy check without --config', ['proxy', 'check'], /proxy check needs --config FILE/],
  ];
  for (const [name, args, message] of usageErrors) {
    it(`exits 2 on ${name}`, async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, r.output);
      assert.match(r.stderr, message);
    });
  }

  it('keeps exit 1 for a real failure: serve with a config that does not load', async () => {
    const r = await cli(['serve', '--config', '/nonexistent/firewall.yaml']);
    assert.equal(r.code, 1, r.output);
  });
});
