// Called by scripts/setup.sh: extracts kubectl/helm and builds (or finds) the control plane, with progress.
import { ensureControlPlaneBinaries, resolveClientTools } from '../src/localcluster/index.ts';

const log = (line: string) => console.log(line);
const tools = await resolveClientTools({ searchPath: false });
log(`[setup] kubectl ${tools.kubectl}`);
log(`[setup] helm ${tools.helm}`);
const bin = await ensureControlPlaneBinaries({ kubebuilderAssets: process.env.KUBEBUILDER_ASSETS, log });
log(`[setup] control plane binaries in ${bin}`);
