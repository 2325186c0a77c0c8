/* count_sink: a discarding SMTP server that counts what it was given.
 *
 *   count_sink 127.0.0.1 PORT
 *
 * Why not Postfix's smtp-sink: its -c counter counts messages (final dots),
 * not recipients, so it cannot show that a 10-recipient message arrived with
 * all 10 (or that a relay split it into several transactions); its -d/-D
 * dumps write a file per transaction and would have to be parsed, which costs
 * disk and CPU on the machine being measured. This sink counts recipients
 * exactly, in memory, and records the CLOCK_MONOTONIC time of the last
 * completed transaction, so the benchmark can time "first injection to last
 * delivery" to the microsecond without polling error. Like smtp-sink it is one
 * process with one epoll loop and replies at once; it announces PIPELINING,
 * SIZE, 8BITMIME and ENHANCEDSTATUSCODES (no STARTTLS, AUTH, DSN or CHUNKING),
 * the same to every client.
 *
 * A recipient counts as delivered when the final "." of a transaction that
 * named it gets its 250 (RCPT gets 250 always; DATA without a recipient 554).
 *
 * The benchmark reads the counters on the same port with an extra command:
 *   XCOUNT -> 250 msgs=M rcpts=R conns=C maxconc=K aborted=A first_ns=F last_ns=L
 * msgs/rcpts: completed transactions and their recipients; conns: connections
 * that sent MAIL; maxconc: most such connections open at once; aborted:
 * transactions with recipients lost to RSET or a closed connection;
 * first_ns/last_ns: CLOCK_MONOTONIC (ns) of the first and the last completed
 * transaction (0 if none). A connection that sends XCOUNT is not counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CONNS = 20000, LINE_MAX_BYTES = 4096, IN_CAP = 65536 };
enum { MID, LINE_START, DOT, DOT_CR };  /* end-of-data scanner states */

struct conn {
  int fd;
  int control;     /* sent XCOUNT: not a delivery connection */
  int counted;     /* sent MAIL: counted in conns/open */
  int in_mail;     /* MAIL accepted, transaction open */
  int in_data;     /* after 354, until CRLF.CRLF */
  int data_state;
  int closing;     /* QUIT answered: close once the output is written */
  int want_out;    /* EPOLLOUT armed: output waits for the socket */
  unsigned long long txn_rcpts;
  size_t in_len;
  char in[IN_CAP];
  char *out;
  size_t out_len, out_off, out_cap;
};

static unsigned long long n_msgs, n_rcpts, n_conns, n_open, n_maxconc, n_aborted, n_live;
static long long first_ns, last_ns;
static int ep;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void reply(struct conn *c, const char *text, size_t len) {
  if (c->out_len + len > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 1024;
    while (cap < c->out_len + len) cap *= 2;
    c->out = realloc(c->out, cap);
    if (!c->out) die("realloc");
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, text, len);
  c->out_len += len;
}

#define REPLY(c, s) reply((c), s, sizeof(s) - 1)

static void end_transaction(struct conn *c, int completed) {
  if (completed) {
    long long t = now_ns();
    if (n_msgs == 0) first_ns = t;
    last_ns = t;
    n_msgs++;
    n_rcpts += c->txn_rcpts;
  } else if (c->in_mail && c->txn_rcpts > 0) {
    n_aborted++;
  }
  c->in_mail = 0;
  c->in_data = 0;
  c->txn_rcpts = 0;
}

static int verb_is(const char *line, size_t len, const char *verb) {
  size_t n = strlen(verb);
  return len >= n && strncasecmp(line, verb, n) == 0 && (len == n || line[n] == ' ');
}

static void command(struct conn *c, const char *line, size_t len) {
  if (len > 0 && line[len - 1] == '\r') len--;
  if (verb_is(line, len, "EHLO")) {
    REPLY(c, "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 1073741824\r\n250-8BITMIME\r\n"
             "250 ENHANCEDSTATUSCODES\r\n");
  } else if (verb_is(line, len, "HELO")) {
    REPLY(c, "250 sink.test\r\n");
  } else if (verb_is(line, len, "MAIL")) {
    if (!c->counted && !c->control) {
      c->counted = 1;
      n_conns++;
      if (++n_open > n_maxconc) n_maxconc = n_open;
    }
    end_transaction(c, 0);
    c->in_mail = 1;
    REPLY(c, "250 2.1.0 Ok\r\n");
  } else if (verb_is(line, len, "RCPT")) {
    if (!c->in_mail) {
      REPLY(c, "503 5.5.1 Error: need MAIL command\r\n");
    } else {
      c->txn_rcpts++;
      REPLY(c, "250 2.1.5 Ok\r\n");
    }
  } else if (verb_is(line, len, "DATA")) {
    if (!c->in_mail || c->txn_rcpts == 0) {
      REPLY(c, "554 5.5.1 Error: no valid recipients\r\n");
    } else {
      c->in_data = 1;
      c->data_state = LINE_START;
      REPLY(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
    }
  } else if (verb_is(line, len, "RSET")) {
    end_transaction(c, 0);
    REPLY(c, "250 2.0.0 Ok\r\n");
  } else if (verb_is(line, len, "NOOP")) {
    REPLY(c, "250 2.0.0 Ok\r\n");
  } else if (verb_is(line, len, "QUIT")) {
    REPLY(c, "221 2.0.0 Bye\r\n");
    c->closing = 1;
  } else if (verb_is(line, len, "XCOUNT")) {
    if (!c->control) {
      c->control = 1;
      n_live--;
    }
    char buf[256];
    int n = snprintf(buf, sizeof buf, "250 msgs=%llu rcpts=%llu conns=%llu maxconc=%llu aborted=%llu "
                     "first_ns=%lld last_ns=%lld\r\n", n_msgs, n_rcpts, n_conns, n_maxconc, n_aborted,
                     first_ns, last_ns);
    reply(c, buf, (size_t)n);
  } else {
    REPLY(c, "502 5.5.2 Error: command not recognized\r\n");
  }
}

/* Consumes message content from in[pos..len); returns the position after it.
 * Ends the transaction at CRLF "." CRLF (the content starts at a line start). */
static size_t data(struct conn *c, size_t pos) {
  const char *p = c->in + pos, *end = c->in + c->in_len;
  while (p < end) {
    switch (c->data_state) {
      case MID: {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return c->in_len;
        p = nl + 1;
        c->data_state = LINE_START;
        break;
      }
      case LINE_START:
        if (*p == '.') {
          c->data_state = DOT;
          p++;
        } else if (*p == '\n') {
          p++;
        } else {
          c->data_state = MID;
        }
        break;
      case DOT:
        if (*p == '\r') {
          c->data_state = DOT_CR;
          p++;
        } else {
          c->data_state = MID;
        }
        break;
      case DOT_CR:
        if (*p == '\n') {
          end_transaction(c, 1);
          REPLY(c, "250 2.0.0 Ok: queued\r\n");
          return (size_t)(p + 1 - c->in);
        }
        c->data_state = MID;
        break;
    }
  }
  return c->in_len;
}

static void close_conn(struct conn *c) {
  end_transaction(c, 0);
  if (c->counted) n_open--;
  if (!c->control) n_live--;
  close(c->fd);
  free(c->out);
  free(c);
}

static int flush_out(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c->want_out) {
          struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
          c->want_out = 1;
        }
        return 0;
      }
      if (errno == EINTR) continue;
      return -1;
    }
    c->out_off += (size_t)w;
  }
  if (c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = 0;
  }
  c->out_off = c->out_len = 0;
  return c->closing ? -1 : 0;
}

/* Returns -1 when the connection is to be closed. */
static int readable(struct conn *c) {
  for (;;) {
    ssize_t r = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      return -1;
    }
    c->in_len += (size_t)r;
    size_t pos = 0;
    while (pos < c->in_len && !c->closing) {
      if (c->in_data) {
        pos = data(c, pos);
        continue;
      }
      const char *nl = memchr(c->in + pos, '\n', c->in_len - pos);
      if (!nl) break;
      command(c, c->in + pos, (size_t)(nl - (c->in + pos)));
      pos = (size_t)(nl + 1 - c->in);
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    if (c->in_len > LINE_MAX_BYTES && !c->in_data) {
      REPLY(c, "500 5.5.2 Error: line too long\r\n");
      c->closing = 1;
    }
    if (c->closing) break;
    if ((size_t)r < IN_CAP / 2) break;  /* most likely drained; level-triggered epoll tells us if not */
  }
  return flush_out(c);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: count_sink ADDRESS PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
    fprintf(stderr, "count_sink: bad IPv4 address %s\n", argv[1]);
    return 2;
  }
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0) die("bind");
  if (listen(ls, 1024) != 0) die("listen");
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev) != 0) die("epoll_ctl");
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c == NULL) {
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          if (n_live >= MAX_CONNS) {
            close(fd);
            continue;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          if (!c) die("calloc");
          c->fd = fd;
          n_live++;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
          REPLY(c, "220 sink.test ESMTP count_sink\r\n");
          if (flush_out(c) != 0) close_conn(c);
        }
        continue;
      }
      /* Input first: a client's last commands may arrive together with its FIN. */
      int rc;
      if (evs[i].events & EPOLLIN)
        rc = readable(c);
      else if (evs[i].events & (EPOLLERR | EPOLLHUP))
        rc = -1;
      else
        rc = flush_out(c);
      if (rc != 0) close_conn(c);
    }
  }
}
