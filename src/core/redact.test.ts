import { describe, expect, it } from 'vitest';
import { EventLog } from './events.js';
import { REDACTED, redactDeep, redactText, redactWordsOf, registerSecret } from './redact.js';

describe('redaction of configured secrets', () => {
  it('replaces each registered secret in every string of an event, before it is kept or written', () => {
    const command = 'snmpset -v1 -c pdu-community pdu.lan .1.3.6.1.4.1.318 i 2';
    registerSecret(command);
    registerSecret('on');
    const log = new EventLog();
    const event = log.emit({ type: 'run-start', runId: 'r', argv: [], config: { hosts: [{ name: 'pi-1', powerOff: command, ports: { 6443: 16443 } }], note: `ran ${command} on pi-1` } });
    expect(event).toMatchObject({ type: 'run-start' });
    expect((event as Extract<typeof event, { type: 'run-start' }>).config).toEqual({ hosts: [{ name: 'pi-1', powerOff: REDACTED, ports: { 6443: 16443 } }], note: `ran ${REDACTED} on pi-1` });
    expect(log.events[0]).toBe(event);
    // Too short to be a credential: "on" is left alone everywhere.
    expect(redactText('power on')).toBe('power on');
    const date = new Date(0);
    expect(redactDeep({ at: date, values: [1, null, command] })).toEqual({ at: date, values: [1, null, REDACTED] });
  });

  it('takes the command\'s own words out of its output', () => {
    const command = 'curl -fsS -u admin:Hunter2-Secret http://pdu.lan/outlet/3/off';
    expect(redactWordsOf(command, 'curl: (22) 401 for admin:Hunter2-Secret at pdu.lan')).toBe(`${REDACTED}: (22) 401 for ${REDACTED}:${REDACTED} at ${REDACTED}`);
  });
});
