import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@watched/core';
import { compileCoordinatorOptions, CoordinatorOptionsSchema, parseCoordinatorOptions } from './coordinator-options.js';

describe('compileCoordinatorOptions', () => {
  it('fills the defaults and names every duration in milliseconds', () => {
    expect(parseCoordinatorOptions()).toEqual({
      groupSize: 50,
      tickIntervalMs: 1000,
      agentRefreshMs: 5000,
      leaseTtlMs: 10_000,
      jobAttempts: 5,
      jobRetentionMs: 3_600_000,
      rebalanceIntervalMs: 300_000,
      balanceTolerance: 0.1,
      heartbeatIntervalMs: 5000,
      discovery: { files: [], dnsNames: [], srvNames: [], dnsServers: [], http: false, intervalMs: 30_000, graceMs: 600_000, defaultPollIntervalS: 300 },
    });
  });

  it('discovery: repeatable options as flags given twice, comma-separated text (not inside braces) or config lists; errors name the field', () => {
    const options = parseCoordinatorOptions({
      discoveryFile: ['/etc/a/*.yaml', '/etc/b/{x,y}.json,/etc/c.csv'],
      discoveryDns: 'agents.svc:9100,other.svc',
      discoverySrv: ['_agent._tcp.example.org'],
      discoveryDnsServer: '10.0.0.2,[fd00::53]:5353',
      discoveryHttp: 'yes',
      discoveryGrace: '2m',
    }).discovery;
    expect(options).toMatchObject({
      files: ['/etc/a/*.yaml', '/etc/b/{x,y}.json', '/etc/c.csv'],
      dnsNames: [{ name: 'agents.svc', port: 9100 }, { name: 'other.svc', port: 9080 }],
      srvNames: ['_agent._tcp.example.org'],
      dnsServers: ['10.0.0.2', '[fd00::53]:5353'],
      http: true,
      graceMs: 120_000,
    });
    expect(() => parseCoordinatorOptions({ discoveryDns: 'bad name!' })).toThrow(/invalid option discoveryDns/);
    expect(() => parseCoordinatorOptions({ discoveryDns: 'agents.svc:99999' })).toThrow(/invalid option discoveryDns/);
    expect(() => parseCoordinatorOptions({ discoveryDnsServer: 'dns.example.org' })).toThrow(/invalid option discoveryDnsServer/);
    expect(() => parseCoordinatorOptions({ discoveryInterval: '0s' })).toThrow(/invalid option discoveryInterval/);
  });

  it("takes durations as text (parse) or, as the loader returns them, in milliseconds (compile); ignores the other roles' options; returns a frozen value", () => {
    const parsed = parseCoordinatorOptions({ tickInterval: '200ms', leaseTtl: '2s' });
    expect([parsed.tickIntervalMs, parsed.leaseTtlMs]).toEqual([200, 2000]);
    const loaded = { ...CoordinatorOptionsSchema.parse({}), tickInterval: 200, leaseTtl: 2000, workerConcurrency: 4 };
    const options = compileCoordinatorOptions(loaded);
    expect([options.tickIntervalMs, options.leaseTtlMs]).toEqual([200, 2000]);
    expect(Object.keys(options)).not.toContain('workerConcurrency');
    expect(Object.isFrozen(options)).toBe(true);
  });

  it('refuses periods of 0 where a loop would spin or Redis refuse the expiry, naming the field', () => {
    expect(() => parseCoordinatorOptions({ tickInterval: '0s' })).toThrow(ConfigError);
    expect(() => parseCoordinatorOptions({ tickInterval: '0s' })).toThrow(/invalid option tickInterval/);
    expect(() => parseCoordinatorOptions({ heartbeatInterval: '0s' })).toThrow(/invalid option heartbeatInterval/);
    // 0 is a documented value where it means "off".
    expect(parseCoordinatorOptions({ rebalanceInterval: '0s' }).rebalanceIntervalMs).toBe(0);
  });
});
