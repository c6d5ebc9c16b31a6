// Failover on the wire (failover.test.ts, unchanged) with every speaker in the image `npm run image`
// builds, run as the DaemonSet's pod (scripts/lab/image-runtime.ts): SIGTERM reaches the speaker
// through podman as a kubelet's stop would, and kill -9 is a SIGKILL to the container's process.
process.env.OELB_LAB_RUNTIME = 'image';
await import('./failover.test.ts');
