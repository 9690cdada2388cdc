/* run_cli.h: `battfarm-worker run PROGRAM_FILE TASK_FILE_OR_DIR... [options]`: runs one solver
 * file on tasks and shows, per sample, the status, the score and the grids side by side. */
#ifndef BF_RUN_CLI_H
#define BF_RUN_CLI_H

/* argv[0] is "run". Returns the exit status: 0 when every sample with a known output matched,
 * 1 otherwise, 2 on usage errors or unreadable files. */
int run_cli_main(int argc, char **argv);

#endif
