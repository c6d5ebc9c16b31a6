// The seed walkthrough (seed-walkthrough.test.ts, unchanged) with every speaker in the image
// `npm run image` builds, run as the DaemonSet's pod (scripts/lab/image-runtime.ts).
process.env.OELB_LAB_RUNTIME = 'image';
await import('./seed-walkthrough.test.ts');
