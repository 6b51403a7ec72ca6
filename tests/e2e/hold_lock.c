/*
 * hold_lock PATH: takes the lock another kestrel would hold on a disk image
 * (an exclusive OFD lock over the whole file, as disk_image_open takes it),
 * prints "locked" once it holds it, and keeps it until killed. tests/e2e/run.sh
 * uses it for "image locked by another process": deterministic, unlike
 * racing a second VM, and the lock goes away with the process.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDWR | O_CLOEXEC);
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fd < 0 || fcntl(fd, F_OFD_SETLK, &lock) < 0) {
        fprintf(stderr, "hold_lock: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    printf("locked\n");
    fflush(stdout);
    for (;;)
        pause();
}
