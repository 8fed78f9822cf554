/**
 * What every command-line tool does with its arguments: `--help` prints the usage (exit 0); a bad
 * option or value is one line naming the tool, with a pointer to `--help` (exit 2); an unexpected
 * failure is one line too (exit 1) — people read these, not stack traces.
 */
import { parseArgs, ParseArgsConfig } from "node:util";

/** A bad argument: reported on one line, exit status 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The parsed options, or undefined after `--help` was printed. Throws {@link UsageError}. */
export function parseCli<O extends Options>(argv: string[], usage: string, options: O) {
    try {
        const parsed = parseArgs({
            args: argv,
            options: { ...options, help: { type: "boolean" as const, default: false } },
            allowPositionals: false,
            strict: true,
        });
        if ((parsed.values as { help?: boolean }).help) {
            console.log(usage);
            return undefined;
        }
        return parsed.values;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

/**
 * Runs a tool's main (synchronous or not): its exit status, or 2 for a {@link UsageError} and 1 for
 * anything else, thrown or rejected, on one line.
 */
export function runCli(tool: string, main: () => number | void | Promise<number | void>): void {
    void Promise.resolve()
        .then(main)
        .then(
            (status) => process.exit(status ?? 0),
            (error: Error) => {
                if (error instanceof UsageError) {
                    console.error(`${tool}: ${error.message}\n(npm run ${tool} -- --help for usage)`);
                    process.exit(2);
                }
                console.error(`${tool}: ${error.message}`);
                process.exit(1);
            },
        );
}
