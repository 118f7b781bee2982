import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ShedError } from '../core/errors.js';
import type { SandboxId } from '../core/ids.js';
import { parseArpTable } from './host-claims.js';
import { hostIfaceOf, idOfHostIface } from './names.js';
import { parseNameservers, sandboxResolvConf } from './resolv.js';
import { baseRules, removalRules, sandboxRules } from './rules.js';
import { connectCommands, connectTakenCommands, netnsScript, shQuote } from './scripts.js';
import { candidateAddresses, parseSubnet } from './settings.js';
import { mapElements, setElements } from './sweep.js';

const ID = 'sb-0123456789ab' as SandboxId; // a literal in the id format
const subnet = parseSubnet('10.88.0.0/16');

describe('net settings', () => {
  it('parses the subnet and its gateway, and refuses bad ones', () => {
    assert.deepEqual(parseSubnet('10.88.0.0/16'), { cidr: '10.88.0.0/16', base: 0x0a580000, prefix: 16, gateway: '10.88.0.1', size: 65536 });
    for (const bad of ['10.88.0.1/16', '10.88.0.0/30', '10.88.0.0', '256.0.0.0/8']) assert.throws(() => parseSubnet(bad), (e) => e instanceof ShedError && e.code === 'invalid_argument');
  });

  it('offers addresses past the gateway, short of broadcast, skipping claimed ones', () => {
    const s = parseSubnet('192.168.7.0/29');
    assert.deepEqual([...candidateAddresses(s, new Set(['192.168.7.3']))], ['192.168.7.2', '192.168.7.4', '192.168.7.5', '192.168.7.6']);
  });

  it('reads answered neighbours from /proc/net/arp, not incomplete ones', () => {
    const text = 'IP address       HW type     Flags       HW address            Mask     Device\n'
      + '10.88.0.9        0x1         0x2         52:54:00:12:34:56     *        shed0\n'
      + '10.88.0.10       0x1         0x0         00:00:00:00:00:00     *        shed0\n';
    assert.deepEqual(parseArpTable(text), ['10.88.0.9']);
  });

  it('names host veths after the sandbox and back', () => {
    assert.equal(hostIfaceOf(ID), 'sh0123456789ab');
    assert.ok(hostIfaceOf(ID).length <= 15);
    assert.equal(idOfHostIface('sh0123456789ab'), ID);
    assert.equal(idOfHostIface('shed0'), null);
  });
});

describe('resolv.conf', () => {
  it('reads nameservers and gives sandboxes the forwarder, or the non-loopback ones', () => {
    const servers = parseNameservers('# c\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch x\nnameserver bogus\nnameserver fe80::1%eth0\n');
    assert.deepEqual(servers, ['127.0.0.53', '192.0.2.53', 'fe80::1%eth0']);
    assert.match(sandboxResolvConf('10.88.0.1', servers), /^nameserver 10\.88\.0\.1$/m);
    const direct = sandboxResolvConf(null, servers);
    assert.doesNotMatch(direct, /127\.0\.0\.53/);
    assert.match(direct, /^nameserver 192\.0\.2\.53$/m);
  });
});

describe('nftables rules', () => {
  it('the base masquerades the subnet, dispatches on the source address and refuses the rest', () => {
    const text = baseRules('shed0', subnet, true);
    assert.match(text, /ip saddr 10\.88\.0\.0\/16 oifname != "shed0" masquerade/);
    assert.match(text, /iifname "shed0" ip saddr vmap @egress/);
    assert.match(text, /ip daddr 10\.88\.0\.1 meta l4proto \{ tcp, udp \} th dport 53 accept/);
    assert.match(text, /add rule inet shed input goto refuse/);
    assert.doesNotMatch(baseRules('shed0', subnet, false), /dport 53/);
  });

  it('a sandbox chain checks deny, then allow, then refuses when an allow list is given', () => {
    const text = sandboxRules(ID, '10.88.0.2', 'sh0123456789ab', { allow: ['192.0.2.0/24:443'], deny: ['192.0.2.7'], allowHost: true, allowSandboxes: false });
    const rules = text.split('\n').filter((l) => l.startsWith(`add rule inet shed ${ID}`));
    assert.deepEqual(rules, [
      `add rule inet shed ${ID} ip daddr 192.0.2.7 goto refuse`,
      `add rule inet shed ${ID} ip daddr 192.0.2.0/24 meta l4proto { tcp, udp } th dport 443 accept`,
      `add rule inet shed ${ID} goto refuse`,
    ]);
    assert.match(text, /add element inet shed host \{ 10\.88\.0\.2 : jump sb-0123456789ab \}/);
    assert.doesNotMatch(text, /shed open|shed peers/);
  });

  it('removal adds before every delete, so it succeeds from any partial state', () => {
    const lines = removalRules(ID, '10.88.0.2', 'sh0123456789ab').split('\n');
    for (const [i, l] of lines.entries()) {
      if (!l.startsWith('delete element')) continue;
      assert.equal(lines[i - 1]?.replace(/ : jump \S+/, '').replace('add', 'delete'), l, `${l} follows its add`);
    }
  });
});

describe('scripts and sweep parsing', () => {
  it('quotes paths for sh and builds one attach script', () => {
    assert.equal(shQuote("/a b/it's"), `'/a b/it'\\''s'`);
    const input = { id: ID, netnsPath: '/run/x/netns', address: '10.88.0.2', iface: 'sh0123456789ab', bridge: 'shed0', subnet, egress: { allow: [], deny: [], allowHost: false, allowSandboxes: false }, daemonPid: 42 };
    const s = netnsScript(input);
    assert.match(s, /unshare --net='\/run\/x\/netns'/);
    assert.match(s, /link add eth0 type veth peer name sh0123456789ab netns 42/);
    const [link, rules] = connectCommands(input);
    assert.deepEqual(link, ['ip', 'link', 'set', 'dev', 'sh0123456789ab', 'master', 'shed0', 'up']);
    assert.equal(rules?.[0], 'nft');
    assert.match(rules?.[1] ?? '', /; add element bridge shed bound \{ "sh0123456789ab" \. 10\.88\.0\.2 \}$/);
    assert.ok(!(rules?.[1] ?? '').includes('\n'), 'one line: the spawn helper takes no newline in an argument');
  });

  it("renames a taken spare's veth and moves its port from the spare's name to the sandbox's", () => {
    const input = { id: ID, netnsPath: '/run/x/net/netns', address: '10.88.0.2', iface: 'sh0123456789ab', bridge: 'shed0', subnet, egress: { allow: [], deny: [], allowHost: false, allowSandboxes: false }, daemonPid: 42 };
    const [link, rules] = connectTakenCommands(input, 'shfedcba987654');
    assert.deepEqual(link, ['ip', 'link', 'set', 'dev', 'shfedcba987654', 'name', 'sh0123456789ab', 'up']);
    assert.match(rules?.[1] ?? '', /add element bridge shed ports \{ "sh0123456789ab" \}/);
    assert.match(rules?.[1] ?? '', /; delete element bridge shed ports \{ "shfedcba987654" \}$/);
  });

  it("reads map and set elements from nft's JSON", () => {
    const list = [
      { map: { name: 'egress', elem: [['10.88.0.2', { jump: { target: ID } }]] } },
      { set: { name: 'ports', elem: ['sh0123456789ab'] } },
    ];
    assert.deepEqual(mapElements(list, 'egress'), [['10.88.0.2', ID]]);
    assert.deepEqual(setElements(list, 'ports'), ['sh0123456789ab']);
    assert.deepEqual(mapElements([], 'egress'), []);
  });
});
