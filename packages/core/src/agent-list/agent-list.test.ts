import { describe, expect, it } from '@jest/globals';
import { AgentListError, parseAgentList } from './agent-list.js';

const problems = (file: string, text: string): string[] => {
  try {
    parseAgentList(file, text);
  } catch (err) {
    if (err instanceof AgentListError) return err.message.split('; ');
    throw err;
  }
  return [];
};

describe('parseAgentList: the file source\'s YAML, JSON and CSV lists', () => {
  it('reads strings, maps and target groups, with the port, frequency, TLS and labels each gives', () => {
    const yaml = '- web1\n- host: web2:9443\n  ssl: yes\n  freq: 60\n- targets: [db1, "[fd00::1]:9100"]\n  labels: {tier: db, rack: 4}\n';
    expect(parseAgentList('/etc/agents.yaml', yaml)).toEqual([
      { host: 'web1', port: 9080, pollIntervalS: undefined, useSsl: undefined, labels: {} },
      { host: 'web2', port: 9443, pollIntervalS: 60, useSsl: true, labels: {} },
      { host: 'db1', port: 9080, pollIntervalS: undefined, useSsl: undefined, labels: { tier: 'db', rack: '4' } },
      { host: 'fd00::1', port: 9100, pollIntervalS: undefined, useSsl: undefined, labels: { tier: 'db', rack: '4' } },
    ]);
    // JSON, as a list or under `agents` (the quick reader), gives the same.
    expect(parseAgentList('/a.json', JSON.stringify({ agents: ['web1', { host: 'web2', port: 9443, ssl: true, freq: 60 }] }))).toEqual([
      { host: 'web1', port: 9080, pollIntervalS: undefined, useSsl: undefined, labels: {} },
      { host: 'web2', port: 9443, pollIntervalS: 60, useSsl: true, labels: {} },
    ]);
    expect(parseAgentList('/a.csv', 'host,port,pool_freq,use_ssl\nweb1,9080,,\nweb2,9443,60,yes\n')).toEqual([
      { host: 'web1', port: 9080, pollIntervalS: undefined, useSsl: undefined, labels: {} },
      { host: 'web2', port: 9443, pollIntervalS: 60, useSsl: true, labels: {} },
    ]);
    expect(parseAgentList('/empty.yaml', '')).toEqual([]);
  });

  it('refuses the whole file, naming each problem by file:line (JSON problems found again with their lines)', () => {
    expect(problems('/a.yaml', '- web1\n- host: "bad host"\n- web1\n- {host: x, colour: red}\n- {host: y, freq: often}\n')).toEqual([
      '/a.yaml:2: invalid agent host "bad host"',
      '/a.yaml:3: web1:9080 is already on line 1',
      '/a.yaml:4: unknown key(s) colour (expected host, port, freq, ssl, labels, targets)',
      '/a.yaml:5: freq must be whole seconds, got "often"',
    ]);
    expect(problems('/a.json', '[\n  "web1",\n  {"host": "web2", "port": "x"}\n]\n')).toEqual(['/a.json:3: port must be a number, got "x"']);
    expect(problems('/a.json', '{"agents": [\n  "web1",\n')[0]).toMatch(/^\/a\.json:\d+: /);
    expect(problems('/a.yaml', 'agents: 3\n')).toEqual(['/a.yaml:1: expected a list of agents']);
    expect(problems('/a.csv', 'host,port\nweb1,9080\nweb1,9080\n')).toEqual(['/a.csv:3: web1:9080 is already on line 2']);
    expect(problems('/a.csv', 'host,colour\n')).toEqual(['/a.csv:1: unknown column(s) colour (expected host, port, pool_freq, use_ssl)']);
  });
});
