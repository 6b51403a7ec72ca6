/*
 * net_copy: the guest's side of the net checks' TCP transfers
 * (tests/e2e/net-checks.sh). Built statically by
 * tests/testhost/build-guest-net.sh.
 *
 *   net_copy send HOST PORT     connects, copies stdin to the connection,
 *                               shuts its side down and waits for the peer's EOF
 *   net_copy receive HOST PORT  connects and copies the connection to stdout
 *                               until the peer's EOF
 *
 * busybox nc does the same with a buffer of about 1 KiB and a select() per
 * read; in the nested guest that held a tap to about 2 Mbit/s, so a 100 MB
 * file took minutes. This moves 64 KiB per system call.
 *
 * A VMM that drops packets must fail the check, not stall the session: the
 * connection gives up after NET_COPY_TIMEOUT_SECONDS without progress (Linux
 * applies the send timeout to connect() as well).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define NET_COPY_BUFFER_SIZE 65536
#define NET_COPY_TIMEOUT_SECONDS 60

static int write_all(int fd, const char *bytes, size_t length)
{
    while (length > 0) {
        ssize_t done = write(fd, bytes, length);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return -1;
        bytes += done;
        length -= (size_t)done;
    }
    return 0;
}

/* Copies `from` to `to` until EOF: 0, or -1 on a read or write error. */
static int copy_until_eof(int from, int to)
{
    static char buffer[NET_COPY_BUFFER_SIZE];
    for (;;) {
        ssize_t got = read(from, buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return 0;
        if (write_all(to, buffer, (size_t)got) != 0)
            return -1;
    }
}

static int connect_to(const char *host, const char *port_text)
{
    char *end;
    unsigned long port = strtoul(port_text, &end, 10);
    struct sockaddr_in address = {.sin_family = AF_INET};
    if (end == port_text || *end != '\0' || port == 0 || port > 65535 ||
        inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "net_copy: '%s:%s' is not an IPv4 address and port\n", host, port_text);
        return -1;
    }
    address.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval timeout = {.tv_sec = NET_COPY_TIMEOUT_SECONDS};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        perror("net_copy: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "send") != 0 && strcmp(argv[1], "receive") != 0)) {
        fprintf(stderr, "usage: net_copy send|receive HOST PORT\n");
        return 2;
    }
    int fd = connect_to(argv[2], argv[3]);
    if (fd < 0)
        return 1;
    int status;
    if (strcmp(argv[1], "send") == 0) {
        /* The peer's EOF after ours says it has read everything. */
        status = copy_until_eof(STDIN_FILENO, fd) == 0 && shutdown(fd, SHUT_WR) == 0 &&
                 copy_until_eof(fd, STDOUT_FILENO) == 0;
    } else {
        status = copy_until_eof(fd, STDOUT_FILENO) == 0;
    }
    if (!status)
        perror("net_copy");
    close(fd);
    return status ? 0 : 1;
}
