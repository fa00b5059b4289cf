/*
 * pause: the process that holds a pod sandbox's namespaces open.
 *
 * Why our own: the dev cluster cannot pull registry.k8s.io/pause, so
 * tools/image/build.sh compiles this file statically (gcc -static -Os) into a
 * FROM-scratch image, localhost/syncline/pause:3.10.
 *
 * It runs as PID 1 of the sandbox, which brings two duties:
 *   - signals: PID 1 gets no default signal actions, so SIGTERM would be
 *     ignored unless we act on it. Instead of asynchronous handlers we block
 *     the signals we care about and wait for them synchronously with
 *     sigwaitinfo(); a blocked signal stays pending even for PID 1, so nothing
 *     is lost between two waits and there is no handler/pause() race.
 *   - zombies: orphans in the pod's PID namespace (shareProcessNamespace) are
 *     re-parented to us, so every SIGCHLD reaps all exited children.
 * SIGINT and SIGTERM end it with status 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "3.10-syncline"

static void reap_children(void)
{
    /* Several children may have exited behind one SIGCHLD: reap until none. */
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid > 0)
            continue;
        if (pid < 0 && errno == EINTR)
            continue;
        return; /* 0: children still running; -1/ECHILD: no children */
    }
}

int main(int argc, char **argv)
{
    sigset_t wanted;
    siginfo_t info;

    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("pause %s\n", PAUSE_VERSION);
        return 0;
    }
    if (getpid() != 1)
        fprintf(stderr, "pause: warning: not running as PID 1, zombies of other processes are not reaped\n");

    sigemptyset(&wanted);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGCHLD);
    /* Block them before anything could arrive; sigwaitinfo() takes them off
     * the pending set one at a time. */
    if (sigprocmask(SIG_BLOCK, &wanted, NULL) != 0) {
        perror("pause: sigprocmask");
        return 1;
    }

    for (;;) {
        int sig = sigwaitinfo(&wanted, &info);
        if (sig < 0) {
            if (errno == EINTR)
                continue; /* e.g. SIGSTOP/SIGCONT from a debugger */
            perror("pause: sigwaitinfo");
            return 1;
        }
        switch (sig) {
        case SIGCHLD:
            reap_children();
            break;
        case SIGINT:
        case SIGTERM:
            fprintf(stderr, "pause: shutting down, got signal %d\n", sig);
            return 0;
        }
    }
}
