import { describe, expect, it } from 'vitest';
import { containerIdFromMountinfo } from './self.js';

const ID = '9713174c5b7219d1712f3a2e659d5c76194172537c3fdf3991075ab1764cd0b5';

describe('own container id from /proc/self/mountinfo', () => {
  it('reads it from the bind mount of /etc/hostname (as Docker 20.10 writes it)', () => {
    const text = [
      '73 1 0:42 / / rw,relatime master:30 - overlay overlay rw',
      `91 73 254:0 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
    ].join('\n');
    expect(containerIdFromMountinfo(text)).toBe(ID);
  });

  it('is null outside a container, and for ids that are not 64 hex digits', () => {
    expect(containerIdFromMountinfo('22 1 8:1 / / rw - ext4 /dev/sda1 rw')).toBeNull();
    expect(containerIdFromMountinfo('91 73 254:0 /var/lib/docker/containers/xyz/hostname /etc/hostname rw')).toBeNull();
  });
});
