// The recorder of `lab bench --record`, as a process of its own (libs/observe/recorder.ts says
// why): `record-worker.ts <lab dir> <out dir>`. Prints `ready` once listening; stops (captures
// flushed, every tcpdump and monitor gone) when its stdin closes, which is also what happens
// when the bench dies however it dies, or on SIGINT/SIGTERM/SIGHUP.
import { startRecording } from '../libs/observe/recorder';
import { twinDriver } from '../libs/targets/twin-driver';
import { loadTwinLab } from '../libs/twin/twin';

const [labDir, outDir] = process.argv.slice(2);
try {
  const recording = startRecording(twinDriver(loadTwinLab(labDir)), outDir);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    recording.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  recording.ready.then(
    () => process.stdout.write('ready\n'),
    (error: Error) => {
      process.stderr.write(`recorder: ${error.message}\n`);
      stop();
    },
  );
} catch (error) {
  process.stderr.write(`recorder: ${(error as Error).message}\n`);
  process.exit(1);
}
