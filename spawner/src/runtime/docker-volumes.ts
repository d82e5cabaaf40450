/**
 * Volume calls of DockerRuntime. Only named volumes of the local driver: the port has no way to
 * say "a host path", so no request can ever turn into a bind mount.
 */
import type Docker from 'dockerode';
import { VolumeInUseError, type VolumeInfo, type VolumeSpec } from './types.js';

interface VolumeLike {
  Name: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

function toVolumeInfo(v: VolumeLike): VolumeInfo {
  const created = v.CreatedAt ? Date.parse(v.CreatedAt) : Number.NaN; // drivers may leave it out or odd
  return { name: v.Name, labels: v.Labels ?? {}, ...(Number.isFinite(created) ? { createdAt: new Date(created).toISOString() } : {}) };
}

const statusOf = (err: unknown) => (err as { statusCode?: number } | null)?.statusCode;

export async function createVolume(docker: Docker, spec: VolumeSpec): Promise<VolumeInfo> {
  // Docker answers 201 with the EXISTING volume when the name is taken (labels ignored): the
  // inspect after it tells the caller whose volume it really got.
  await docker.createVolume({ Name: spec.name, Driver: 'local', Labels: spec.labels });
  const info = await inspectVolume(docker, spec.name);
  if (!info) throw new Error(`volume ${spec.name} vanished right after its creation`);
  return info;
}

export async function inspectVolume(docker: Docker, name: string): Promise<VolumeInfo | null> {
  try {
    return toVolumeInfo((await docker.getVolume(name).inspect()) as VolumeLike);
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

export async function listVolumes(docker: Docker, filterLabels: string[]): Promise<VolumeInfo[]> {
  const res = (await docker.listVolumes({ filters: { label: filterLabels } })) as { Volumes?: VolumeLike[] | null };
  return (res.Volumes ?? []).map(toVolumeInfo);
}

export async function removeVolume(docker: Docker, name: string): Promise<void> {
  try {
    await docker.getVolume(name).remove();
  } catch (err) {
    const s = statusOf(err);
    if (s === 404) return;
    if (s === 409) throw new VolumeInUseError(name);
    throw err;
  }
}
