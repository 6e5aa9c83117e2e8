/*
 * realm-relay: realm's proxy and broker inside a network namespace that has no route out.
 *
 * The sidecar of an engine realm cannot reach through a bridge (a remote engine, rootless Docker, Podman) runs
 * with --network none; the agent's container shares its namespace. realm starts this program in the sidecar
 * (an exec over the connection realm already holds to the engine): it listens on 127.0.0.1:PORT for each PORT
 * it is given, and carries every connection it accepts over its stdin and stdout to realm, which connects it to
 * its own proxy or broker on realm's side. Nothing in the namespace can reach realm any other way.
 *
 *   realm-relay PORT...
 *
 * Frames, both ways: type (1 byte), connection id (4 bytes, big-endian), payload length (4 bytes, big-endian),
 * payload (at most MAX_DATA bytes). lib/net/relay-frames.ts is the other end; keep the two alike.
 *   HELLO  relay -> realm   once, when every port listens: window, max connections, max payload (4 bytes each)
 *   OPEN   relay -> realm   a new connection (ids only grow), payload: which PORT (1 byte, its index)
 *   DATA   both ways        bytes of the connection
 *   EOF    both ways        the sender's side will send no more (a half close)
 *   CLOSE  both ways        the connection is gone (reset, or refused by realm); the id is never used again
 *   ACK    both ways        the receiver wrote N more bytes of DATA to its socket (4 bytes): the sender may send N more
 * Flow control: each side may have at most WINDOW bytes of a connection's DATA unacknowledged, so one slow
 * reader holds up its own connection only, and what either side buffers is bounded (MAX_CONNS * WINDOW).
 * realm sends nothing the relay must answer, so reading realm's frames never waits for writing.
 *
 * poll()-based, one thread, no dependencies: built statically, it runs in any image.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { T_HELLO = 1, T_OPEN = 2, T_DATA = 3, T_EOF = 4, T_CLOSE = 5, T_ACK = 6 };

#define HEADER 9
#define MAX_DATA 16384
#define WINDOW (256 * 1024)
#define MAX_CONNS 128
#define MAX_PORTS 8
#define OUT_SIZE (256 * 1024)
#define IN_SIZE (2 * (HEADER + MAX_DATA))

struct conn {
	int fd; /* -1: the slot is free */
	uint32_t id;
	unsigned char *ring; /* realm's DATA not yet written to the socket */
	size_t head, len;
	size_t credit;       /* bytes of the socket's DATA realm still takes */
	size_t unacked;      /* bytes written to the socket and not yet acknowledged to realm */
	int read_done;       /* the socket gave its end (or failed) */
	int eof_due;         /* EOF still to send */
	int peer_eof;        /* realm sent EOF: shut the socket's write side once the ring is empty */
	int write_done;      /* the socket's write side is shut */
	int close_due;       /* CLOSE still to send; then the slot is freed */
};

static struct conn conns[MAX_CONNS];
static int nconns;
static int listeners[MAX_PORTS];
static int nports;
static uint32_t next_id = 1;
static unsigned char out[OUT_SIZE];
static size_t out_len;
static unsigned char in[IN_SIZE];
static size_t in_len;

static void die(const char *what) {
	fprintf(stderr, "realm-relay: %s\n", what);
	exit(2);
}

static void put32(unsigned char *p, uint32_t v) {
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get32(const unsigned char *p) {
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t out_room(void) { return OUT_SIZE - out_len; }

/* Appends a frame with a payload of `len` bytes from `payload` (NULL: the payload is already in place). */
static void emit(int type, uint32_t id, const void *payload, size_t len) {
	unsigned char *p = out + out_len;
	p[0] = type;
	put32(p + 1, id);
	put32(p + 5, (uint32_t)len);
	if (payload) memcpy(p + HEADER, payload, len);
	out_len += HEADER + len;
}

static void set_nonblocking(int fd) {
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die("cannot make a descriptor non-blocking");
}

static struct conn *find(uint32_t id) {
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0 && conns[i].id == id) return &conns[i];
	return NULL;
}

static void release(struct conn *c) {
	close(c->fd);
	free(c->ring);
	memset(c, 0, sizeof *c);
	c->fd = -1;
	nconns--;
}

/* The socket failed or was reset: realm is told (CLOSE), and nothing more is read or written. */
static void fail(struct conn *c) {
	c->read_done = 1;
	c->write_done = 1;
	c->eof_due = 0;
	c->close_due = 1;
	c->len = 0;
}

/* Frames that wait for room in `out`: acknowledgements, ends, closes. A slot is freed once nothing is owed. */
static void flush_control(void) {
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &conns[i];
		if (c->fd < 0) continue;
		if (c->unacked && !c->close_due && out_room() >= HEADER + 4) {
			unsigned char n[4];
			put32(n, (uint32_t)c->unacked);
			emit(T_ACK, c->id, n, 4);
			c->unacked = 0;
		}
		if (c->eof_due && out_room() >= HEADER) {
			emit(T_EOF, c->id, NULL, 0);
			c->eof_due = 0;
		}
		if (c->close_due) {
			if (out_room() < HEADER) continue;
			emit(T_CLOSE, c->id, NULL, 0);
			release(c);
			continue;
		}
		if (c->read_done && !c->eof_due && c->write_done && !c->unacked) release(c);
	}
}

static void accept_one(int listener, int index) {
	int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) return;
	struct conn *c = NULL;
	for (int i = 0; i < MAX_CONNS && !c; i++)
		if (conns[i].fd < 0) c = &conns[i];
	unsigned char *ring = malloc(WINDOW);
	if (!c || !ring || next_id == 0) {
		free(ring);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->fd = fd;
	c->id = next_id++;
	c->ring = ring;
	c->credit = WINDOW;
	nconns++;
	unsigned char which = (unsigned char)index;
	emit(T_OPEN, c->id, &which, 1);
}

/* Reads what the socket has, straight into a DATA frame, as far as realm's window and `out` allow. */
static void read_socket(struct conn *c) {
	size_t n = c->credit;
	if (n > MAX_DATA) n = MAX_DATA;
	if (n > out_room() - HEADER) n = out_room() - HEADER;
	ssize_t got = read(c->fd, out + out_len + HEADER, n);
	if (got > 0) {
		emit(T_DATA, c->id, NULL, (size_t)got);
		c->credit -= (size_t)got;
	} else if (got == 0) {
		c->read_done = 1;
		c->eof_due = 1;
	} else if (errno != EAGAIN && errno != EINTR) {
		fail(c);
	}
}

static void write_socket(struct conn *c) {
	while (c->len) {
		size_t first = WINDOW - c->head;
		if (first > c->len) first = c->len;
		ssize_t put = write(c->fd, c->ring + c->head, first);
		if (put < 0) {
			if (errno != EAGAIN && errno != EINTR) fail(c);
			return;
		}
		c->head = (c->head + (size_t)put) % WINDOW;
		c->len -= (size_t)put;
		c->unacked += (size_t)put;
		if ((size_t)put < first) return;
	}
	if (c->peer_eof && !c->write_done) {
		shutdown(c->fd, SHUT_WR);
		c->write_done = 1;
	}
}

/* One frame from realm. realm is the trusted end; a frame that breaks the protocol ends the relay. */
static void take_frame(int type, uint32_t id, const unsigned char *payload, size_t len) {
	struct conn *c = find(id);
	/* A frame for a connection that is gone (it crossed its CLOSE) has nothing left to do. */
	if (!c || c->close_due) return;
	switch (type) {
	case T_DATA: {
		if (len > WINDOW - c->len) die("realm sent more than the window");
		if (c->write_done) return;
		size_t tail = (c->head + c->len) % WINDOW;
		size_t first = WINDOW - tail < len ? WINDOW - tail : len;
		memcpy(c->ring + tail, payload, first);
		memcpy(c->ring, payload + first, len - first);
		c->len += len;
		write_socket(c);
		break;
	}
	case T_ACK:
		if (len != 4) die("a bad acknowledgement");
		c->credit += get32(payload);
		if (c->credit > WINDOW) die("an acknowledgement beyond the window");
		break;
	case T_EOF:
		c->peer_eof = 1;
		write_socket(c);
		break;
	case T_CLOSE:
		release(c);
		break;
	default:
		die("an unknown frame");
	}
}

static void read_realm(void) {
	ssize_t got = read(0, in + in_len, IN_SIZE - in_len);
	if (got == 0) exit(0); /* realm ended the run, or died: everything closes with this process */
	if (got < 0) {
		if (errno == EAGAIN || errno == EINTR) return;
		exit(0);
	}
	in_len += (size_t)got;
	size_t at = 0;
	while (in_len - at >= HEADER) {
		uint32_t len = get32(in + at + 5);
		if (len > MAX_DATA) die("a frame beyond the largest payload");
		if (in_len - at < HEADER + len) break;
		take_frame(in[at], get32(in + at + 1), in + at + HEADER, len);
		at += HEADER + len;
	}
	memmove(in, in + at, in_len - at);
	in_len -= at;
}

static void write_realm(void) {
	ssize_t put = write(1, out, out_len);
	if (put < 0) {
		if (errno == EAGAIN || errno == EINTR) return;
		exit(0); /* realm is gone */
	}
	memmove(out, out + put, out_len - (size_t)put);
	out_len -= (size_t)put;
}

static int listen_on(const char *word) {
	char *end;
	long port = strtol(word, &end, 10);
	if (*word == '\0' || *end != '\0' || port < 1 || port > 65535) die("not a port");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) die("cannot make a socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) die("cannot listen on the port");
	if (listen(fd, 128) < 0) die("cannot listen on the port");
	return fd;
}

int main(int argc, char **argv) {
	if (argc < 2 || argc - 1 > MAX_PORTS) die("usage: realm-relay PORT...");
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_CONNS; i++) conns[i].fd = -1;
	for (int i = 1; i < argc; i++) listeners[nports++] = listen_on(argv[i]);
	set_nonblocking(0);
	set_nonblocking(1);
	unsigned char hello[12];
	put32(hello, WINDOW);
	put32(hello + 4, MAX_CONNS);
	put32(hello + 8, MAX_DATA);
	emit(T_HELLO, 0, hello, sizeof hello);

	struct pollfd fds[2 + MAX_PORTS + MAX_CONNS];
	struct conn *polled[MAX_CONNS];
	for (;;) {
		flush_control();
		int n = 0;
		fds[n++] = (struct pollfd){.fd = 0, .events = in_len < IN_SIZE ? POLLIN : 0};
		fds[n++] = (struct pollfd){.fd = 1, .events = out_len ? POLLOUT : 0};
		/* A new connection needs a slot and room for its OPEN; until then it waits in the listener's backlog. */
		int accepting = nconns < MAX_CONNS && out_room() >= HEADER + 1;
		/* A descriptor with nothing to wait for is left out (fd -1): poll would report its hang-up over and over. */
		for (int i = 0; i < nports; i++) fds[n++] = (struct pollfd){.fd = accepting ? listeners[i] : -1, .events = POLLIN};
		int first = n, k = 0;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd < 0 || c->close_due) continue;
			short events = 0;
			if (!c->read_done && c->credit && out_room() > HEADER) events |= POLLIN;
			if (c->len) events |= POLLOUT;
			polled[k++] = c;
			fds[n++] = (struct pollfd){.fd = events ? c->fd : -1, .events = events};
		}
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR) continue;
			die("poll failed");
		}
		if (fds[0].revents & (POLLERR | POLLHUP)) {
			if (!(fds[0].revents & POLLIN)) exit(0);
		}
		if (fds[1].revents & (POLLERR | POLLHUP)) exit(0);
		if (fds[1].revents & POLLOUT) write_realm();
		for (int i = 0; i < k; i++) {
			struct conn *c = polled[i];
			short got = fds[first + i].revents;
			if (c->fd < 0 || c->close_due || !got) continue;
			if (got & POLLOUT) write_socket(c);
			if ((got & (POLLIN | POLLHUP | POLLERR)) && !c->read_done && c->credit && out_room() > HEADER) read_socket(c);
			else if ((got & POLLERR) && !c->close_due) fail(c);
		}
		for (int i = 0; i < nports; i++)
			if ((fds[2 + i].revents & POLLIN) && nconns < MAX_CONNS && out_room() >= HEADER + 1) accept_one(listeners[i], i);
		if (fds[0].revents & (POLLIN | POLLHUP)) read_realm();
	}
}
