/** What dacd tells systemd, and when: through a mocked notify channel (the port). */
import { anything, capture, instance, mock, verify, when } from 'ts-mockito';
import { ServiceNotifier, type NotifyChannel } from '../../../src/dacd/service-notify';

function notifier(env: NodeJS.ProcessEnv, onError?: (error: unknown) => void) {
  const channel = mock<NotifyChannel>();
  when(channel.send(anything())).thenResolve();
  const subject = new ServiceNotifier({
    env,
    channel: instance(channel),
    pid: 4321,
    ...(onError ? { onError } : {}),
  });
  return { channel, subject };
}

const SOCKET = { NOTIFY_SOCKET: '/run/systemd/notify' };

afterEach(() => jest.useRealTimers());

describe('ServiceNotifier', () => {
  it('sends nothing when systemd did not start the process', async () => {
    const { channel, subject } = notifier({ WATCHDOG_USEC: '1000000' });
    expect(subject.enabled).toBe(false);
    expect(subject.watchdogIntervalMs()).toBeUndefined();
    await subject.ready('serving');
    await subject.stopping('stopping');
    verify(channel.send(anything())).never();
  });

  it('says READY=1 with its status as this process, and STOPPING=1', async () => {
    const { channel, subject } = notifier(SOCKET);
    await subject.ready('serving dac1: 16 bricks in pool default');
    await subject.stopping('stopping (SIGTERM)');
    verify(channel.send(anything())).twice();
    expect(capture(channel.send).first()[0]).toEqual([
      '--pid=4321',
      '--ready',
      '--status=serving dac1: 16 bricks in pool default',
    ]);
    expect(capture(channel.send).second()[0]).toEqual([
      '--pid=4321',
      'STOPPING=1',
      '--status=stopping (SIGTERM)',
    ]);
  });

  it('pings the watchdog at half of WATCHDOG_USEC from READY on, and not after STOPPING', async () => {
    jest.useFakeTimers();
    const { channel, subject } = notifier({
      ...SOCKET,
      WATCHDOG_USEC: '10000000',
      WATCHDOG_PID: '4321',
    });
    expect(subject.watchdogIntervalMs()).toBe(5000);
    await subject.ready('serving');
    jest.advanceTimersByTime(4999);
    verify(channel.send(anything())).once();
    jest.advanceTimersByTime(1);
    jest.advanceTimersByTime(10000);
    verify(channel.send(anything())).times(4);
    expect(capture(channel.send).last()[0]).toEqual(['--pid=4321', 'WATCHDOG=1']);
    await subject.stopping('stopping');
    jest.advanceTimersByTime(20000);
    verify(channel.send(anything())).times(5);
  });

  it.each([
    ['another process’s watchdog', { WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1' }],
    ['no watchdog', {}],
    ['a malformed interval', { WATCHDOG_USEC: '10s' }],
  ])('does not ping for %s', (_what, env) => {
    expect(notifier({ ...SOCKET, ...env }).subject.watchdogIntervalMs()).toBeUndefined();
  });

  it('reports a message it could not send, and goes on', async () => {
    const errors: unknown[] = [];
    const { channel, subject } = notifier(SOCKET, (error) => errors.push(error));
    when(channel.send(anything())).thenReject(new Error('systemd-notify: No such file'));
    await expect(subject.ready('serving')).resolves.toBeUndefined();
    expect(errors).toEqual([new Error('systemd-notify: No such file')]);
  });
});
