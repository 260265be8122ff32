import { type Bundle, sha256 } from './bundle.ts';
import { installAdvice } from './install-lines.ts';
import { remoteCommandLine } from './quote.ts';
import type { InstalledBundle } from './ship.ts';
import type { Host } from './types.ts';

/**
 * argv: none. stdin: {jobs:[{name,check,tries:[{path,args?}]}]}. Per job, each try in turn:
 * when `path` is missing and `args` are given, compiles with $CC, cc or gcc (args hold @OUT@ for
 * the temporary output) and renames the result into place, so a half-built file never counts;
 * then checks that the file works here (`version`: runs it with --version; `require`: this node
 * loads it). The first that works wins; a shipped build that does not run (an older C library
 * of the same kind) falls through to a build. Prints one JSON line per job:
 * {name,ok,path,built,seconds,version,why:[...]}. Plain JavaScript for the host's bare
 * `node -e`, like the installer in ship.ts.
 */
const BUILD_JS = `const fs=require('fs'),path=require('path'),cp=require('child_process');
const onPath=(n)=>(process.env.PATH||'').split(':').filter(Boolean).map(d=>path.join(d,n)).find(p=>{try{fs.accessSync(p,fs.constants.X_OK);return fs.statSync(p).isFile()}catch{return false}});
const compiler=()=>{const cc=(process.env.CC||'').trim();if(cc)return cc.includes('/')?cc:onPath(cc);return onPath('cc')||onPath('gcc')};
const line=(e)=>{const l=String(e.stderr||'').split('\\n');return(l.find(x=>/\\berror\\b/.test(x))||l.find(x=>x.trim())||String(e.message).split('\\n')[0]).trim()};
const check=(j,p)=>{if(j.check==='version')return cp.execFileSync(p,['--version'],{encoding:'utf8',stdio:['ignore','pipe','pipe'],timeout:10000}).split('\\n')[0].trim();require(p);return null};
const build=(t)=>{const cc=compiler();if(!cc)return 'no C compiler (cc or gcc) there';const tmp=t.path+'.tmp-'+process.pid;
try{fs.mkdirSync(path.dirname(t.path),{recursive:true,mode:0o700});cp.execFileSync(cc,t.args.map(a=>a==='@OUT@'?tmp:a),{stdio:['ignore','pipe','pipe'],timeout:180000,maxBuffer:1<<24});fs.renameSync(tmp,t.path);return null}
catch(e){try{fs.rmSync(tmp,{force:true})}catch{}return e.code==='ENOENT'?'no compiler '+cc:line(e)}};
const run=(j)=>{const r={name:j.name,ok:false,path:null,built:false,seconds:0,version:null,why:[]};
for(const t of j.tries){let built=false;const t0=Date.now();
if(!fs.existsSync(t.path)){if(!t.args){r.why.push('missing');continue}const why=build(t);if(why){r.why.push(why);continue}built=true}
try{r.version=check(j,t.path);return{...r,ok:true,path:t.path,built,seconds:built?(Date.now()-t0)/1000:0}}catch(e){r.why.push('does not run there: '+line(e))}}
return r};
const chunks=[];process.stdin.on('data',c=>chunks.push(c));process.stdin.on('end',()=>{
for(const j of JSON.parse(Buffer.concat(chunks).toString('utf8')).jobs)process.stdout.write(JSON.stringify(run(j))+'\\n')});`;

/** A native program or addon a host needs: the one shipped in the bundle, or one built there. */
export interface NativeJob {
  /** The file's name in the bundle (`openloop`, `zerocopy.node`). */
  name: string;
  /** For messages ("no openloop", "no zero-copy addon"). */
  what: string;
  /** The bundle's files the build reads (sources, headers): their hashes key the build. */
  sources: string[];
  /** The compiler's arguments on the host: `output` is a temporary path, `bundleDir` holds the sources. */
  compile: (output: string, bundleDir: string) => string[];
  /** A program is run with --version; an addon is loaded by the host's node. */
  check: 'version' | 'require';
  /** What the build needs, as install-lines knows them (`cc`, `zlib.h`). */
  needs: string[];
}

export interface NativeOnHost {
  name: string;
  /** Where it is on the host, when it works there; null otherwise. */
  path: string | null;
  /** How it got there: built here and shipped, or built on the host (this run or an earlier one). */
  origin: 'shipped' | 'built' | null;
  /** The first line of its --version, for a program. */
  version: string | null;
  /** Seconds the compiler took on the host this time (0 when it was built before). */
  buildSeconds: number;
  /** Why it is not there, one line naming the host; null when it is. */
  problem: string | null;
  /** The same without the host's name (for a note about that host). */
  reason: string | null;
  /** When it is not there: the line that installs what a build there needs (compiler, headers). */
  installLine: string | null;
}

/** The compiler's output file in the command: the build script puts its temporary path there. */
const OUT = '@OUT@';

/**
 * Where a build of `job` lives on the host: its cache root's native/<key>/, the key over the
 * host's platform, the compiler arguments and the hashes of the sources, so a host builds each
 * source once and a changed source or flag is a new build beside the old.
 */
export function nativeBuildPath(bundle: Bundle, installed: InstalledBundle, job: NativeJob): string {
  const hashes = job.sources.map((name) => {
    const file = bundle.files.find((f) => f.name === name);
    if (file === undefined) throw new Error(`the bundle has no ${name} to build ${job.what} from`);
    return file.sha256;
  });
  const key = sha256(JSON.stringify([installed.platform, job.compile(OUT, '@BUNDLE@'), hashes]));
  return `${installed.root}/native/${key}/${job.name}`;
}

interface Answer {
  name: string;
  ok: boolean;
  path: string | null;
  built: boolean;
  seconds: number;
  version: string | null;
  why: string[];
}

function parseAnswers(stdout: string): Map<string, Answer> {
  const answers = new Map<string, Answer>();
  for (const line of stdout.split('\n')) {
    try {
      const answer = JSON.parse(line) as Answer;
      if (typeof answer.name === 'string' && Array.isArray(answer.why)) answers.set(answer.name, answer);
    } catch {
      // Not an answer (a warning of the host's node, say).
    }
  }
  return answers;
}

/**
 * Makes every job's file available on the host in one ssh session: the shipped one when the
 * bundle there has it, else built there from the bundle's sources with the host's C compiler
 * (once per source: later runs find it), and checked to work there either way. A host without
 * a compiler, or whose build fails, gets a problem line and the install line for what the build
 * needs; never an exception for that.
 */
export async function nativeOnHost(
  host: Host,
  bundle: Bundle,
  installed: InstalledBundle,
  jobs: readonly NativeJob[],
  context: { distribution: string | null; root: boolean; timeoutMs?: number },
): Promise<NativeOnHost[]> {
  if (jobs.length === 0) return [];
  const plans = jobs.map((job) => {
    const shipped = installed.shipment.files.some((f) => f.name === job.name);
    const build = { path: nativeBuildPath(bundle, installed, job), args: job.compile(OUT, installed.dir) };
    return { job, shipped, tries: shipped ? [{ path: `${installed.dir}/${job.name}` }, build] : [build] };
  });
  const timeoutMs = context.timeoutMs ?? 240_000;
  const result = await host.shell(remoteCommandLine(['node', '-e', BUILD_JS]), {
    timeoutMs,
    input: JSON.stringify({
      jobs: plans.map((p) => ({ name: p.job.name, check: p.job.check, tries: p.tries })),
    }),
  });
  const answers = parseAnswers(result.stdout);
  const noAnswer = result.timedOut
    ? `no answer within ${Math.round(timeoutMs / 1000)} s`
    : (result.stderr.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`);
  return plans.map(({ job, shipped, tries }) =>
    outcome(host, bundle, job, shipped ? tries[0]!.path : null, answers.get(job.name), noAnswer, context),
  );
}

/** One job's answer as the run uses it: where it is, or why not and what to install. */
function outcome(
  host: Host,
  bundle: Bundle,
  job: NativeJob,
  shippedPath: string | null,
  answer: Answer | undefined,
  noAnswer: string,
  context: { distribution: string | null; root: boolean },
): NativeOnHost {
  if (answer?.ok === true && answer.path !== null) {
    return {
      name: job.name,
      path: answer.path,
      origin: answer.path === shippedPath ? 'shipped' : 'built',
      version: job.check === 'version' ? answer.version : null,
      buildSeconds: answer.built ? Math.round(answer.seconds * 10) / 10 : 0,
      problem: null,
      reason: null,
      installLine: null,
    };
  }
  const whys = answer === undefined ? [noAnswer] : answer.why;
  // Shipped first, then built: each try's reason, named.
  const named = whys.map((why, i) =>
    shippedPath !== null && i === 0
      ? `the ${bundle.platform} build shipped there: ${why}`
      : `a build there: ${why}`,
  );
  const reason = `no ${job.what} (${named.join('; ')})`;
  return {
    name: job.name,
    path: null,
    origin: null,
    version: null,
    buildSeconds: 0,
    problem: `${host.name}: ${reason}`,
    reason,
    installLine: installAdvice(context.distribution, job.needs, context.root).line,
  };
}
