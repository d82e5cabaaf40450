/** The Traefik command line of the e2e stack (test/helpers/stack.ts). */
export function traefikFlags(network: string, spawnerId: string, dockerEndpoint: string | undefined, extra: string[] = []): string[] {
  return [
    // No phone-home: test traffic stays on this machine.
    '--global.checkNewVersion=false',
    '--global.sendAnonymousUsage=false',
    '--entrypoints.web.address=:80',
    // API, ping and metrics only on the control-network address ("traefik" resolves to it
    // when Traefik starts): from an instance network, Traefik's port 8080 refuses.
    '--entrypoints.traefik.address=traefik:8080',
    // A request that races a stop must fail fast, not dial a dead address for 30 s.
    '--serversTransport.forwardingTimeouts.dialTimeout=2s',
    '--api.insecure=true',
    '--ping=true',
    '--metrics.prometheus=true',
    '--metrics.prometheus.addServicesLabels=true',
    '--metrics.prometheus.addRoutersLabels=true',
    '--providers.docker=true',
    '--providers.docker.exposedByDefault=false',
    `--providers.docker.network=${network}`,
    `--providers.docker.constraints=Label(\`spawner.id\`,\`${spawnerId}\`)`,
    '--providers.providersThrottleDuration=100ms',
    '--providers.file.directory=/etc/traefik/dynamic',
    '--providers.file.watch=true',
    '--log.level=INFO',
    ...(dockerEndpoint ? [`--providers.docker.endpoint=${dockerEndpoint}`] : []),
    ...extra,
  ];
}
