import { describe, expect, it } from 'vitest';
import { countOpenConnections } from './sockets.js';

// Real shapes: the header of /proc/net/tcp, then of /proc/net/tcp6 (cat prints both).
const H4 = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const H6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (local: string, remote: string, st: string) =>
  `   0: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000  1000        0 4060735 1 000000000dc54724 100 0 0 10 0`;
const P = '2328'; // 9000

describe('countOpenConnections', () => {
  it('counts ESTABLISHED connections to the port from outside, over IPv4 and IPv6', () => {
    const table = [
      H4,
      row(`00000000:${P}`, '00000000:0000', '0A'), // LISTEN
      row(`030012AC:${P}`, '020012AC:D3A2', '01'), // 172.18.0.3:9000 <- 172.18.0.2 (Traefik)
      H6,
      row(`00000000000000000000000000000000:${P}`, '00000000000000000000000000000000:0000', '0A'),
      row(`0000000000000000FFFF0000030012AC:${P}`, '0000000000000000FFFF0000020012AC:B00C', '01'), // v4-mapped
    ].join('\n');
    expect(countOpenConnections(table, 9000)).toBe(2);
  });

  it('leaves out loopback peers (the container\'s own HEALTHCHECK), other ports, other states and outbound connections', () => {
    const table = [
      H4,
      row(`0100007F:${P}`, '0100007F:E1F2', '01'), // 127.0.0.1 health check
      row(`030012AC:${P}`, '020012AC:D3A2', '06'), // TIME_WAIT
      row(`030012AC:${P}`, '020012AC:D3A4', '08'), // CLOSE_WAIT
      row('030012AC:1F90', '020012AC:D3A2', '01'), // another port (8080)
      row('030012AC:C350', `020012AC:${P}`, '01'), // outbound, to someone else's 9000
      H6,
      row(`00000000000000000000000001000000:${P}`, '00000000000000000000000001000000:9C40', '01'), // ::1
      row(`0000000000000000FFFF00000100007F:${P}`, '0000000000000000FFFF00000100007F:9C42', '01'), // ::ffff:127.0.0.1
    ].join('\n');
    expect(countOpenConnections(table, 9000)).toBe(0);
  });

  it('ignores garbage and truncated lines', () => {
    expect(countOpenConnections('', 9000)).toBe(0);
    expect(countOpenConnections('cat: /proc/net/tcp6: No such file or directory\n   0: zz:2328 yy 01', 9000)).toBe(0);
    expect(countOpenConnections(`${H4}\n   0: 030012AC:${P}`, 9000)).toBe(0);
  });
});
