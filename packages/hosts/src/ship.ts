import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUNDLE_LEADER,
  BUNDLE_OPENLOOP,
  type Bundle,
  type NativeMode,
  type Shipment,
  shipmentFor,
} from './bundle.ts';
import { type CacheUsage, PRUNE_RULE_JS } from './cache-prune.ts';
import type { Host, HostProcess } from './types.ts';

// Both scripts run with the host's bare `node -e` (CommonJS, no modules of ours), so they are
// plain JavaScript kept small. The cache root is the host user's, like ~/.cache/scaleup.
const CACHE_ROOT_JS =
  "const fs=require('fs'),path=require('path'),os=require('os'),crypto=require('crypto');" +
  "const root=path.join(process.env.XDG_CACHE_HOME||path.join(os.homedir(),'.cache'),'scaleup');";

/**
 * argv: none. stdin: {shipments:[{hash,files:[{name,sha256,data?,exec?}]}],use?}. Prints `platform P`,
 * `root DIR`, then per shipment `cached|installed|missing HASH`. A shipment with data is written
 * to a temporary sibling, checked file by file against its sha256 and renamed into place, so
 * a directory named by a hash always holds exactly that content. Then `cache BUNDLES BYTES` and
 * what the prune rule (cache-prune.ts) picks, the shipments named kept: with `use` (a run) the
 * cached ones are touched (newest = most recently used) and the picks removed, `pruned N BYTES`;
 * without (a probe, which changes nothing), `prunable N BYTES`.
 */
const INSTALL_JS = `${CACHE_ROOT_JS}
const out=(s)=>process.stdout.write(s+'\\n');
const sha=(p)=>{try{return crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}catch{return null}};
const setHash=(fs_)=>crypto.createHash('sha256').update(fs_.map(f=>f.sha256+'  '+f.name+'\\n').sort().join('')).digest('hex');
const du=(p)=>{let st;try{st=fs.lstatSync(p)}catch{return 0}if(!st.isDirectory())return st.size;let n=0;try{for(const e of fs.readdirSync(p))n+=du(path.join(p,e))}catch{}return n};
const alive=(pid)=>{try{process.kill(pid,0);return true}catch(e){return e.code==='EPERM'}};
const prunable=${PRUNE_RULE_JS};
const prune=(m)=>{let names=[];try{names=fs.readdirSync(root)}catch{}
const entries=names.flatMap(name=>{try{const pid=/\\.tmp-(\\d+)$/.exec(name);return[{name,mtimeMs:fs.lstatSync(path.join(root,name)).mtimeMs,live:pid!==null&&alive(Number(pid[1]))}]}catch{return[]}});
const gone=new Set();let b=0;for(const name of prunable(entries,m.shipments.map(s=>s.hash),Date.now())){const p=path.join(root,name),size=du(p);
if(m.use){try{fs.rmSync(p,{recursive:true,force:true})}catch{continue}}gone.add(name);b+=size}
const left=entries.filter(e=>/^[0-9a-f]{64}$/.test(e.name)&&!(m.use&&gone.has(e.name))).length;
out('cache '+left+' '+du(root));out((m.use?'pruned ':'prunable ')+gone.size+' '+b)};
const glibc=process.report&&process.report.getReport().header.glibcVersionRuntime;
out('platform '+process.arch+'-'+(glibc?'glibc':'musl'));out('root '+root);
const chunks=[];process.stdin.on('data',c=>chunks.push(c));process.stdin.on('end',()=>{
const m=JSON.parse(Buffer.concat(chunks).toString('utf8'));
for(const s of m.shipments){
if(!/^[0-9a-f]{64}$/.test(s.hash)||setHash(s.files)!==s.hash||s.files.some(f=>!/^[A-Za-z0-9._-]+$/.test(f.name))){out('bad '+s.hash);process.exitCode=3;continue}
const dir=path.join(root,s.hash);const ok=(d)=>s.files.every(f=>sha(path.join(d,f.name))===f.sha256);
if(ok(dir)){if(m.use){try{const t=new Date();fs.utimesSync(dir,t,t)}catch{}}out('cached '+s.hash);continue}
if(s.files.some(f=>f.data===undefined)){out('missing '+s.hash);continue}
const tmp=dir+'.tmp-'+process.pid;fs.rmSync(tmp,{recursive:true,force:true});fs.mkdirSync(tmp,{recursive:true,mode:0o700});
for(const f of s.files)fs.writeFileSync(path.join(tmp,f.name),Buffer.from(f.data,'base64'),{mode:f.exec?0o755:0o644});
if(!ok(tmp)){fs.rmSync(tmp,{recursive:true,force:true});out('corrupt '+s.hash);process.exitCode=3;continue}
fs.rmSync(dir,{recursive:true,force:true});fs.renameSync(tmp,dir);out('installed '+s.hash)}
prune(m)});`;

/**
 * argv: RUN_ID. Makes `/tmp/scaleup-runs-UID/RUN_ID` (not under the home directory: nginx's
 * workers run as another account and must reach their files, and a home is often 0700; both
 * levels are 0711, and the parent must be a directory of this user's, not a planted link),
 * removes the directories of runs whose keeper is gone
 * (a SIGKILLed harness, a host rebooted), prints `ready DIR`, and removes its own directory when
 * it is stopped: by the group leader when the run ends, on Ctrl-C, and when the connection is
 * lost (the leader's stdin closes or its heartbeat stops). A watcher in a session of its own
 * removes the directory within 0.1 s of the keeper's end, however it ends: a lost link has the
 * group leader escalate to SIGKILL, which a keeper slow to run (a loaded host) never hears as
 * TERM. The last run out removes the parent
 * too (rmdir: only when empty, so a concurrent run's directory keeps it); a keeper that finds
 * the parent removed between its mkdir calls by such a last run makes both again.
 */
const KEEPER_JS = `${CACHE_ROOT_JS}
const id=process.argv[1];const runs=path.join(os.tmpdir(),'scaleup-runs-'+process.getuid());const dir=path.join(runs,id);
const make=()=>{try{fs.mkdirSync(runs,{mode:0o711})}catch(e){if(e.code!=='EEXIST')throw e}
const own=fs.lstatSync(runs);if(!own.isDirectory()||own.uid!==process.getuid())throw new Error(runs+' is not a directory of this user');
fs.mkdirSync(dir,{mode:0o711})};
for(let i=0;;i++){try{make();break}catch(e){if(e.code!=='ENOENT'||i>=5)throw e}}
fs.chmodSync(dir,0o711);fs.writeFileSync(path.join(dir,'.keeper'),String(process.pid));
require('child_process').spawn('sh',['-c','while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; rm -rf "$2"; rmdir "$3" 2>/dev/null; exit 0','sh',String(process.pid),dir,runs],{detached:true,stdio:'ignore'}).unref();
const keeps=(pid,run)=>{try{return fs.readFileSync('/proc/'+pid+'/cmdline','utf8').includes(run)}catch{return false}};
for(const run of fs.readdirSync(runs)){if(run===id)continue;const p=path.join(runs,run);let pid=NaN,age=0;
try{age=Date.now()-fs.statSync(p).mtimeMs;pid=Number(fs.readFileSync(path.join(p,'.keeper'),'utf8'))}catch{}
if(Number.isInteger(pid)&&pid>0?!keeps(pid,run):age>60000)fs.rmSync(p,{recursive:true,force:true})}
const bye=()=>{try{fs.rmSync(dir,{recursive:true,force:true});try{fs.rmdirSync(runs)}catch(e){if(e.code!=='ENOTEMPTY'&&e.code!=='ENOENT'&&e.code!=='EEXIST')throw e}}finally{process.exit(0)}};
for(const s of ['SIGTERM','SIGINT','SIGHUP'])process.on(s,bye);
process.stdout.write('ready '+dir+'\\n');setInterval(()=>{},1<<30);`;

export interface BundleProbe {
  /** The host's `arch-libc` as its node reports it. */
  platform: string;
  /** The host's cache root (e.g. /home/u/.cache/scaleup). */
  root: string;
  /** What it would get, and whether that is already there (verified by sha256, file by file). */
  shipment: Shipment;
  cached: boolean;
  /** What the host's cache holds; `pruned` is what the next run there would prune. */
  cache: CacheUsage;
}

export interface InstalledBundle extends BundleProbe {
  dir: string;
  /** Bytes sent over ssh this time: 0 when the host had it. */
  copiedBytes: number;
  /** What the cache holds after this install; `pruned` is what it removed of older bundles. */
  cache: CacheUsage;
}

function parseInstallOutput(stdout: string): Map<string, string> {
  const facts = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) facts.set(line.slice(space + 1).trim(), line.slice(0, space));
  }
  return facts;
}

async function runInstaller(host: Host, body: object, timeoutMs: number) {
  const result = await host.shell(`exec node -e ${shellSingle(INSTALL_JS)}`, {
    timeoutMs,
    input: JSON.stringify(body),
  });
  const lines = result.stdout.split('\n');
  const platform = lines
    .find((l) => l.startsWith('platform '))
    ?.slice(9)
    .trim();
  const root = lines
    .find((l) => l.startsWith('root '))
    ?.slice(5)
    .trim();
  if (result.exitCode === null || platform === undefined || root === undefined) {
    const why = result.timedOut
      ? `no answer within ${timeoutMs} ms`
      : (result.stderr.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`);
    throw new Error(`${host.name}: cannot check the bundle cache with node there (${why})`);
  }
  return { platform, root, states: parseInstallOutput(result.stdout), cache: cacheUsageOf(lines) };
}

/** `cache BUNDLES BYTES` and `pruned|prunable N BYTES` from the installer's answer. */
function cacheUsageOf(lines: readonly string[]): CacheUsage {
  const numbers = (prefix: RegExp) => {
    const match = lines.map((l) => prefix.exec(l)).find((m) => m !== null);
    return match ? [Number(match[1]), Number(match[2])] : [0, 0];
  };
  const [bundles, bytes] = numbers(/^cache (\d+) (\d+)$/);
  const [entries, prunedBytes] = numbers(/^prun(?:ed|able) (\d+) (\d+)$/);
  return { bundles: bundles!, bytes: bytes!, pruned: { entries: entries!, bytes: prunedBytes! } };
}

function shellSingle(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

const manifest = (s: Shipment) => ({
  hash: s.hash,
  files: s.files.map(({ name, sha256 }) => ({ name, sha256 })),
});

/** Which shipment the host would get and whether it has it already; changes nothing there. */
export function probeBundle(
  host: Host,
  bundle: Bundle,
  timeoutMs = 20_000,
  mode: NativeMode = 'auto',
): Promise<BundleProbe> {
  return probeOrUse(host, bundle, timeoutMs, mode, false);
}

/**
 * With `use` (a run), the host also touches the candidate it has, so that "newest" means "most
 * recently used", and prunes older bundles; one ssh session either way.
 */
async function probeOrUse(
  host: Host,
  bundle: Bundle,
  timeoutMs: number,
  mode: NativeMode,
  use: boolean,
): Promise<BundleProbe> {
  const withNative = shipmentFor(bundle, bundle.platform, mode);
  const without = shipmentFor(bundle, null);
  const candidates = withNative.hash === without.hash ? [without] : [withNative, without];
  const answer = await runInstaller(host, { shipments: candidates.map(manifest), use }, timeoutMs);
  const shipment = shipmentFor(bundle, answer.platform, mode);
  return {
    platform: answer.platform,
    root: answer.root,
    shipment,
    cached: answer.states.get(shipment.hash) === 'cached',
    cache: answer.cache,
  };
}

/**
 * Makes sure the host has this bundle (the native builds with it when its platform matches ours
 * and `mode` allows) in its cache, verified there by sha256; sends the files over the ssh
 * connection only when it does not.
 */
export async function installBundle(
  host: Host,
  bundle: Bundle,
  timeoutMs = 60_000,
  mode: NativeMode = 'auto',
): Promise<InstalledBundle> {
  const probe = await probeOrUse(host, bundle, timeoutMs, mode, true);
  const dir = `${probe.root}/${probe.shipment.hash}`;
  if (probe.cached) {
    host.useLeaderAt?.(`${dir}/${BUNDLE_LEADER}`);
    return { ...probe, dir, copiedBytes: 0 };
  }
  const files = probe.shipment.files.map((f) => ({
    name: f.name,
    sha256: f.sha256,
    data: readFileSync(join(bundle.dir, f.name)).toString('base64'),
    // A program (openloop) must stay one there; everything else is read or loaded.
    exec: f.name === BUNDLE_OPENLOOP,
  }));
  const answer = await runInstaller(
    host,
    { shipments: [{ hash: probe.shipment.hash, files }], use: true },
    timeoutMs,
  );
  const state = answer.states.get(probe.shipment.hash);
  if (state !== 'installed' && state !== 'cached')
    throw new Error(
      `${host.name}: the bundle ${probe.shipment.hash.slice(0, 12)} did not arrive intact (${state ?? 'no answer'})`,
    );
  const copiedBytes = state === 'installed' ? probe.shipment.files.reduce((sum, f) => sum + f.bytes, 0) : 0;
  host.useLeaderAt?.(`${dir}/${BUNDLE_LEADER}`);
  // Both sessions prune: the second counts the bundle it installed among the newest.
  const { pruned } = probe.cache;
  const cache = {
    ...answer.cache,
    pruned: {
      entries: pruned.entries + answer.cache.pruned.entries,
      bytes: pruned.bytes + answer.cache.pruned.bytes,
    },
  };
  return { ...probe, dir, copiedBytes, cache };
}

export interface RunDir {
  /** The per-run working directory on the host. */
  dir: string;
  /** Removes it (the keeper does, when stopped); idempotent. */
  close(): Promise<void>;
}

/**
 * A per-run working directory on the host, held by a keeper process under the group leader: it
 * goes when the run closes it, and with the keeper on Ctrl-C or a lost connection; a run that
 * could do neither (SIGKILL of everything) has it swept by the next run's keeper.
 */
export async function openRunDir(
  host: Host,
  timeoutMs = 30_000,
  options: { tmpDir?: string } = {},
): Promise<RunDir> {
  const id = `run-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  // tmpDir: the parent of scaleup-runs-UID there instead of the host's own (its TMPDIR, /tmp).
  const env = options.tmpDir === undefined ? {} : { env: { TMPDIR: options.tmpDir } };
  const keeper: HostProcess = host.spawn('node', ['-e', KEEPER_JS, id], { graceMs: 2000, ...env });
  const dir = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${host.name}: run directory not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    keeper.stdout.on('line', (line) => {
      if (!line.startsWith('ready ')) return;
      clearTimeout(timer);
      resolve(line.slice(6).trim());
    });
    void keeper.exited.then((exit) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${host.name}: the run directory's keeper ended (${exit.error ?? `exit ${exit.exitCode}`})`,
        ),
      );
    });
  }).catch(async (error: Error) => {
    await keeper.stop(1000);
    throw error;
  });
  return { dir, close: () => keeper.stop(3000) };
}
