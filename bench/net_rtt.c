/*
 * net_rtt: small TCP request/response round trips, for the virtio-net bench
 * (bench/net-bench.sh). Built statically by tests/testhost/build-guest-net.sh,
 * so the same binary runs in the guest (no libraries there) and in level 1.
 *
 *   net_rtt server PORT                serves one connection at a time, forever:
 *                                      echoes each SIZE-byte message back
 *   net_rtt client HOST PORT COUNT SIZE  COUNT round trips of SIZE bytes; prints
 *                                      "NET-RTT count=N size=S median_us=M p99_us=P min_us=A max_us=B"
 *
 * The message size travels in the first 4 bytes of the first message, so the
 * server needs no option. TCP_NODELAY on both ends: without it Nagle and
 * delayed ACKs would set the latency, not the network path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NET_RTT_MAX_SIZE 65536u
#define NET_RTT_MAX_COUNT 1000000u

static int io_exact(int fd, void *buffer, size_t length, int writing)
{
    uint8_t *bytes = buffer;
    while (length > 0) {
        ssize_t done = writing ? write(fd, bytes, length) : read(fd, bytes, length);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return -1;
        bytes += done;
        length -= (size_t)done;
    }
    return 0;
}

static void socket_no_delay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int parse_unsigned(const char *text, unsigned low, unsigned high, unsigned *value)
{
    char *end;
    errno = 0;
    unsigned long parsed = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || parsed < low || parsed > high)
        return -1;
    *value = (unsigned)parsed;
    return 0;
}

static void server_serve(int connection)
{
    static uint8_t message[NET_RTT_MAX_SIZE];
    uint32_t size_field;
    socket_no_delay(connection);
    if (io_exact(connection, &size_field, sizeof(size_field), 0) != 0)
        return;
    uint32_t size = ntohl(size_field);
    if (size < sizeof(size_field) || size > NET_RTT_MAX_SIZE)
        return;
    memcpy(message, &size_field, sizeof(size_field));
    if (io_exact(connection, message + sizeof(size_field), size - sizeof(size_field), 0) != 0)
        return;
    do {
        if (io_exact(connection, message, size, 1) != 0)
            return;
    } while (io_exact(connection, message, size, 0) == 0);
}

static int server_run(unsigned port)
{
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 || listen(listener, 4) != 0) {
        perror("net_rtt: server");
        return 1;
    }
    for (;;) {
        int connection = accept(listener, NULL, NULL);
        if (connection < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("net_rtt: accept");
            return 1;
        }
        server_serve(connection);
        close(connection);
    }
}

static int compare_u64(const void *left, const void *right)
{
    uint64_t a = *(const uint64_t *)left, b = *(const uint64_t *)right;
    return (a > b) - (a < b);
}

static uint64_t now_ns(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

/* A numeric IPv4 address: a static binary cannot use the NSS resolver. */
static int client_connect(const char *host, unsigned port)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) {
        fprintf(stderr, "net_rtt: '%s' is not an IPv4 address\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        perror("net_rtt: connect");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int client_run(const char *host, unsigned port, unsigned count, unsigned size)
{
    static uint8_t message[NET_RTT_MAX_SIZE];
    uint64_t *samples = calloc(count, sizeof(*samples));
    int fd = client_connect(host, port);
    if (samples == NULL || fd < 0) {
        free(samples);
        return 1;
    }
    socket_no_delay(fd);
    uint32_t size_field = htonl(size);
    memset(message, 0x5a, size);
    memcpy(message, &size_field, sizeof(size_field));
    int status = 0;
    for (unsigned i = 0; i < count; i++) {
        uint64_t start = now_ns();
        if (io_exact(fd, message, size, 1) != 0 || io_exact(fd, message, size, 0) != 0) {
            fprintf(stderr, "net_rtt: the connection failed after %u round trips\n", i);
            status = 1;
            break;
        }
        samples[i] = now_ns() - start;
    }
    close(fd);
    if (status == 0) {
        qsort(samples, count, sizeof(*samples), compare_u64);
        /* Nearest-rank percentiles: the p99 of 1000 samples is the 990th smallest. */
        unsigned median = (count + 1) / 2 - 1, p99 = (unsigned)(((uint64_t)count * 99 + 99) / 100) - 1;
        printf("NET-RTT count=%u size=%u median_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f\n", count, size,
               samples[median] / 1e3, samples[p99] / 1e3, samples[0] / 1e3, samples[count - 1] / 1e3);
    }
    free(samples);
    return status;
}

int main(int argc, char **argv)
{
    unsigned port, count, size;
    if (argc == 3 && strcmp(argv[1], "server") == 0 && parse_unsigned(argv[2], 1, 65535, &port) == 0)
        return server_run(port);
    if (argc == 6 && strcmp(argv[1], "client") == 0 && parse_unsigned(argv[3], 1, 65535, &port) == 0 &&
        parse_unsigned(argv[4], 1, NET_RTT_MAX_COUNT, &count) == 0 &&
        parse_unsigned(argv[5], 4, NET_RTT_MAX_SIZE, &size) == 0)
        return client_run(argv[2], port, count, size);
    fprintf(stderr, "usage: net_rtt server PORT | net_rtt client HOST PORT COUNT SIZE (SIZE 4..%u)\n",
            NET_RTT_MAX_SIZE);
    return 2;
}
