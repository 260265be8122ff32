/*
 * openloop: a constant-rate (open-loop) HTTP/1.1 load generator.
 *
 * Closed-loop tools send the next request when the last answer came back, so they slow down
 * exactly when the server does and never see the requests a stall would have delayed. Here every
 * request has an intended send time fixed before the run (the rate spread evenly over threads),
 * and its latency is measured from that time, whatever the server did: a stall is charged for
 * everything that queued behind it (no coordinated omission).
 *
 * A request never waits for a busy connection: it takes an idle keep-alive connection, or a new
 * one is opened, up to a bound (--max-connections) that is reported when it was reached.
 *
 * Latencies go into an HdrHistogram (1 us to 60 s, 3 significant digits) per thread; the merged
 * histogram is printed in HdrHistogram's V2 compressed encoding (zlib, base64), which
 * HdrHistogram and hdr-histogram-js read, so runs of several hosts merge exactly.
 *
 * Output: one JSON document on stdout; problems as lines on stderr. Exit 0 after a run (whatever
 * the server did), 2 for bad arguments, 1 when the run could not start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define OPENLOOP_VERSION "1.0.0"
#define NS_PER_S 1000000000LL
#define MAX_HEAD 16384
#define READ_CHUNK 65536
#define MAX_THREADS 256
#define EVENTS 256

/* ------------------------------------------------------------------------------------------ */
/* HdrHistogram (the layout of HdrHistogram's Java and JS implementations, so encodings match) */

struct hist {
  int64_t lowest, highest;
  int digits, unit_mag, sub_half_mag, sub_count, sub_half, bucket_count, counts_len, lz_base;
  int64_t sub_mask;
  uint64_t *counts;
  uint64_t total;
};

static int hist_init(struct hist *h, int64_t lowest, int64_t highest, int digits) {
  int64_t single = 2;
  for (int i = 0; i < digits; i++) single *= 10;
  int sub_count_mag = 0;
  while ((1LL << sub_count_mag) < single) sub_count_mag++;
  h->lowest = lowest;
  h->highest = highest;
  h->digits = digits;
  h->unit_mag = 0;
  while ((2LL << h->unit_mag) <= lowest) h->unit_mag++;
  h->sub_half_mag = (sub_count_mag > 1 ? sub_count_mag : 1) - 1;
  h->sub_count = 1 << (h->sub_half_mag + 1);
  h->sub_half = h->sub_count / 2;
  h->sub_mask = (int64_t)(h->sub_count - 1) << h->unit_mag;
  int64_t smallest_untrackable = (int64_t)h->sub_count << h->unit_mag;
  int buckets = 1;
  while (smallest_untrackable <= highest) {
    smallest_untrackable <<= 1;
    buckets++;
  }
  h->bucket_count = buckets;
  h->counts_len = (buckets + 1) * h->sub_half;
  h->lz_base = 64 - h->unit_mag - h->sub_half_mag - 1;
  h->total = 0;
  h->counts = calloc((size_t)h->counts_len, sizeof(uint64_t));
  return h->counts == NULL ? -1 : 0;
}

/* Every histogram here has one layout, the one src/hdr.ts (OPENLOOP_HISTOGRAM) merges with. */
static int latency_hist_init(struct hist *h) {
  return hist_init(h, 1, 60000000, 3);
}

static int hist_bucket(const struct hist *h, int64_t v) {
  return h->lz_base - __builtin_clzll((uint64_t)(v | h->sub_mask));
}

static int hist_index(const struct hist *h, int64_t v) {
  int bucket = hist_bucket(h, v);
  int sub = (int)(v >> (bucket + h->unit_mag));
  return ((bucket + 1) << h->sub_half_mag) + sub - h->sub_half;
}

static int64_t hist_value(const struct hist *h, int index) {
  int bucket = (index >> h->sub_half_mag) - 1;
  int sub = (index & (h->sub_half - 1)) + h->sub_half;
  if (bucket < 0) {
    sub -= h->sub_half;
    bucket = 0;
  }
  return (int64_t)sub << (bucket + h->unit_mag);
}

/* The last value that lands in the same count as v: what HdrHistogram reports for a percentile. */
static int64_t hist_highest_equivalent(const struct hist *h, int64_t v) {
  int bucket = hist_bucket(h, v);
  int sub = (int)(v >> (bucket + h->unit_mag));
  int64_t lowest = (int64_t)sub << (bucket + h->unit_mag);
  int64_t size = 1LL << (h->unit_mag + (sub >= h->sub_count ? bucket + 1 : bucket));
  return lowest + size - 1;
}

static void hist_record(struct hist *h, int64_t v) {
  if (v < 0) v = 0;
  if (v > h->highest) v = h->highest;
  h->counts[hist_index(h, v)]++;
  h->total++;
}

static void hist_add(struct hist *into, const struct hist *from) {
  for (int i = 0; i < into->counts_len; i++) into->counts[i] += from->counts[i];
  into->total += from->total;
}

/* getValueAtPercentile exactly as hdr-histogram-js 3 computes it (same rounding of the count). */
static int64_t hist_percentile(const struct hist *h, double percentile) {
  if (h->total == 0) return 0;
  double requested = percentile < 100.0 ? percentile : 100.0;
  double fp = (requested / 100.0) * (double)h->total;
  double ulp = pow(2.0, floor(log2(fp)) - 52);
  double wanted = ceil(fp - ulp);
  uint64_t count = wanted < 1.0 ? 1 : (uint64_t)wanted;
  uint64_t seen = 0;
  for (int i = 0; i < h->counts_len; i++) {
    seen += h->counts[i];
    if (seen >= count) return percentile == 0.0 ? hist_value(h, i) : hist_highest_equivalent(h, hist_value(h, i));
  }
  return 0;
}

/* ZigZag LEB128-64b9B, HdrHistogram's variant: at most 9 bytes, the 9th carrying 8 bits. */
static size_t zigzag_put(uint8_t *out, int64_t value) {
  uint64_t u = ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
  size_t n = 0;
  for (int i = 0; i < 8; i++) {
    if (u < 0x80) {
      out[n++] = (uint8_t)u;
      return n;
    }
    out[n++] = (uint8_t)((u & 0x7f) | 0x80);
    u >>= 7;
  }
  out[n++] = (uint8_t)u;
  return n;
}

static void put_be32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The uncompressed V2 encoding: a 40-byte header, then counts with runs of zeros folded. */
static uint8_t *hist_encode_v2(const struct hist *h, size_t *length) {
  int limit = 0;
  for (int i = 0; i < h->counts_len; i++)
    if (h->counts[i] > 0) limit = i + 1;
  uint8_t *buf = malloc(40 + (size_t)limit * 9 + 9);
  if (buf == NULL) return NULL;
  size_t n = 40;
  for (int i = 0; i < limit;) {
    uint64_t count = h->counts[i++];
    if (count == 0) {
      int64_t zeros = 1;
      while (i < limit && h->counts[i] == 0) {
        zeros++;
        i++;
      }
      n += zigzag_put(buf + n, zeros > 1 ? -zeros : 0);
    } else {
      n += zigzag_put(buf + n, (int64_t)count);
    }
  }
  double ratio = 1.0;
  uint64_t ratio_bits;
  memcpy(&ratio_bits, &ratio, sizeof ratio_bits);
  put_be32(buf, 0x1c849303u | 0x10u);
  put_be32(buf + 4, (uint32_t)(n - 40));
  put_be32(buf + 8, 0); /* normalizing index offset */
  put_be32(buf + 12, (uint32_t)h->digits);
  put_be64(buf + 16, (uint64_t)h->lowest);
  put_be64(buf + 24, (uint64_t)h->highest);
  put_be64(buf + 32, ratio_bits);
  *length = n;
  return buf;
}

static char *base64(const uint8_t *in, size_t n) {
  static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc(4 * ((n + 2) / 3) + 1);
  if (out == NULL) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = table[(v >> 18) & 63];
    out[o++] = table[(v >> 12) & 63];
    out[o++] = i + 1 < n ? table[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? table[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

/* The V2 compressed encoding in base64 ("HISTFAAA..."), or NULL when memory or zlib failed. */
static char *hist_encode_compressed(const struct hist *h) {
  size_t raw_len = 0;
  uint8_t *raw = hist_encode_v2(h, &raw_len);
  if (raw == NULL) return NULL;
  uLongf packed_len = compressBound((uLong)raw_len);
  uint8_t *packed = malloc(8 + packed_len);
  char *text = NULL;
  if (packed != NULL && compress2(packed + 8, &packed_len, raw, (uLong)raw_len, 9) == Z_OK) {
    put_be32(packed, 0x1c849304u | 0x10u);
    put_be32(packed + 4, (uint32_t)packed_len);
    text = base64(packed, 8 + packed_len);
  }
  free(packed);
  free(raw);
  return text;
}

/* ------------------------------------------------------------------------------------------ */
/* Options and the target                                                                      */

struct options {
  double rate;
  double duration_s;
  int min_conns, max_conns, threads;
  int64_t timeout_ns;
  int64_t late_bound_ns;
  long long expect_bytes; /* -1: not checked */
  struct sockaddr_storage addr;
  socklen_t addr_len;
  char *request;
  size_t request_len;
  int request_close; /* the request asks the server to close after answering */
};

static struct options opt;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "openloop: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (see openloop --help)\n");
  exit(2);
}

/* ------------------------------------------------------------------------------------------ */
/* Connections and the per-thread state                                                       */

/* C_DONE: its response is in, about to close (not in the idle list, no request in flight). */
enum conn_state { C_FREE, C_CONNECTING, C_IDLE, C_BUSY, C_DONE };
enum parse_state { P_HEAD, P_BODY };

struct conn {
  int fd;
  int slot;
  enum conn_state state;
  int64_t intended_ns, sent_ns, deadline_ns;
  size_t write_off;
  enum parse_state pstate;
  int64_t body_left, body_len;
  int status, close_after, want_out;
  char *head;
  size_t head_len;
  struct conn *next_idle;
};

/* Plain counters, summed over threads. */
enum counter {
  K_PLANNED, K_SENT, K_COMPLETED, K_OK, K_WRONG_BODY, K_UNSENT, K_ERRORED,
  K_1XX, K_2XX, K_3XX, K_4XX, K_5XX,
  K_ERR_CONNECT, K_ERR_READ, K_ERR_WRITE, K_ERR_PARSE, K_TIMEOUTS,
  K_BYTES_TOTAL, K_BYTES_HEAD, K_BYTES_BODY,
  K_LATE, K_LIMIT_WAITS, K_OPENED, K_EARLY_CONNECT_FAILS,
  K_COUNT
};

struct counts {
  uint64_t k[K_COUNT];
  int64_t max_lag_ns;
  int peak_conns, limit_hit;
  int64_t last_done_ns;
  double sum_us, sum_sq_us;
  int64_t min_us, max_us;
};

struct worker;
/* What the scheduler does to connections; the real one opens sockets, --simulate prints. */
struct io_ops {
  int (*open)(struct worker *w, struct conn *c);
  void (*send)(struct worker *w, struct conn *c);
};

struct worker {
  int id, cpu, epfd;
  const struct io_ops *io;
  /* The schedule: the thread's j-th request is the global request first + j * stride. */
  int64_t t0_ns;
  double interval_ns;
  uint64_t first, stride, count;
  uint64_t next;         /* the next request to send */
  uint64_t seen;         /* requests already checked for a late send */
  uint64_t limit_marked; /* requests already counted as waiting at the connection bound */
  int min_conns, max_conns, open, connecting, busy;
  /* Requests are queued at the connection bound: new ones would queue too, whenever noticed. */
  int blocked;
  struct conn *conns;
  int *free_slots; /* a stack of unused slots, lowest on top, so slots in use stay packed */
  int nfree, high_water;
  struct conn *idle_head, *idle_tail;
  struct counts n;
  struct hist hist;
  char *scratch;
  pthread_t thread;
};

static int64_t intended_at(const struct worker *w, uint64_t j) {
  return w->t0_ns + llround((double)(w->first + j * w->stride) * w->interval_ns);
}

static void idle_push(struct worker *w, struct conn *c) {
  c->state = C_IDLE;
  c->next_idle = NULL;
  if (w->idle_tail) w->idle_tail->next_idle = c;
  else w->idle_head = c;
  w->idle_tail = c;
}

static struct conn *idle_pop(struct worker *w) {
  struct conn *c = w->idle_head;
  if (c == NULL) return NULL;
  w->idle_head = c->next_idle;
  if (w->idle_head == NULL) w->idle_tail = NULL;
  c->next_idle = NULL;
  return c;
}

static void idle_remove(struct worker *w, struct conn *c) {
  struct conn **p = &w->idle_head, *prev = NULL;
  while (*p && *p != c) {
    prev = *p;
    p = &(*p)->next_idle;
  }
  if (*p == NULL) return;
  *p = c->next_idle;
  if (w->idle_tail == c) w->idle_tail = prev;
  c->next_idle = NULL;
}

static int init_slots(struct worker *w) {
  w->conns = calloc((size_t)w->max_conns, sizeof(struct conn));
  w->free_slots = malloc((size_t)w->max_conns * sizeof(int));
  if (w->conns == NULL || w->free_slots == NULL) return -1;
  for (int i = 0; i < w->max_conns; i++) w->free_slots[i] = w->max_conns - 1 - i;
  w->nfree = w->max_conns;
  return 0;
}

static struct conn *free_slot(struct worker *w) {
  if (w->nfree == 0) return NULL;
  int slot = w->free_slots[--w->nfree];
  if (slot + 1 > w->high_water) w->high_water = slot + 1;
  return &w->conns[slot];
}

/* A new connection (its connect still in progress), or NULL when opening failed at once. */
static struct conn *open_conn(struct worker *w) {
  struct conn *c = free_slot(w);
  if (c == NULL) return NULL;
  memset(c, 0, sizeof *c);
  c->slot = (int)(c - w->conns);
  c->fd = -1;
  c->state = C_CONNECTING;
  if (w->io->open(w, c) != 0) {
    c->state = C_FREE;
    w->free_slots[w->nfree++] = c->slot;
    w->n.k[K_ERR_CONNECT]++;
    return NULL;
  }
  w->open++;
  w->connecting++;
  w->n.k[K_OPENED]++;
  if (w->open > w->n.peak_conns) w->n.peak_conns = w->open;
  return c;
}

/*
 * The scheduler, called whenever time passed or a connection changed: every request whose
 * intended time has come goes out on an idle connection, or new connections are opened for it.
 * A request is late when the thread noticed it was due more than the bound after its intended
 * time: that is the tool falling behind, not the server. Requests that fell due while others
 * waited at the connection bound would have waited anyway: the thread does not wake up for them
 * (at saturation that would be a timer per request) and they are not late.
 */
static void dispatch(struct worker *w, int64_t now) {
  uint64_t due = w->seen;
  for (; due < w->count; due++) {
    int64_t lag = now - intended_at(w, due);
    if (lag < 0) break;
    if (!w->blocked && lag > opt.late_bound_ns) w->n.k[K_LATE]++;
    if (!w->blocked && lag > w->n.max_lag_ns) w->n.max_lag_ns = lag;
  }
  w->seen = due;
  while (w->next < due) {
    struct conn *c = idle_pop(w);
    if (c == NULL) break;
    c->intended_ns = intended_at(w, w->next);
    c->sent_ns = now;
    c->state = C_BUSY;
    c->write_off = 0;
    w->busy++;
    w->next++;
    w->n.k[K_SENT]++;
    w->io->send(w, c);
  }
  uint64_t waiting = due - w->next;
  while (waiting > (uint64_t)w->connecting && w->open < w->max_conns) {
    if (open_conn(w) == NULL) {
      /* The request that wanted this connection fails, so a dead target costs one try each. */
      w->next++;
      w->n.k[K_ERRORED]++;
      waiting--;
    }
  }
  w->blocked = waiting > (uint64_t)w->connecting && w->open >= w->max_conns;
  if (w->blocked) {
    w->n.limit_hit = 1;
    uint64_t from = w->next > w->limit_marked ? w->next : w->limit_marked;
    if (due > from) w->n.k[K_LIMIT_WAITS] += due - from;
    if (due > w->limit_marked) w->limit_marked = due;
  }
}

/* Closing a connection with a request in flight fails that request. */
static void close_conn(struct worker *w, struct conn *c) {
  if (c->state == C_IDLE) idle_remove(w, c);
  if (c->state == C_CONNECTING) w->connecting--;
  if (c->state == C_BUSY) {
    w->busy--;
    w->n.k[K_ERRORED]++;
  }
  if (c->fd >= 0) close(c->fd);
  free(c->head);
  c->head = NULL;
  c->fd = -1;
  c->state = C_FREE;
  w->free_slots[w->nfree++] = c->slot;
  w->open--;
}

/* A connect failed: the oldest request waiting for a connection fails with it, if any. */
static void connect_failed(struct worker *w, struct conn *c) {
  w->n.k[K_ERR_CONNECT]++;
  close_conn(w, c);
  if (w->next < w->seen) {
    w->next++;
    w->n.k[K_ERRORED]++;
  }
}

static void connected(struct worker *w, struct conn *c) {
  w->connecting--;
  idle_push(w, c);
}

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                  */

static void record_response(struct worker *w, struct conn *c, int64_t now) {
  int64_t us = (now - c->intended_ns) / 1000;
  if (us < 0) us = 0;
  hist_record(&w->hist, us);
  struct counts *n = &w->n;
  n->k[K_COMPLETED]++;
  n->sum_us += (double)us;
  n->sum_sq_us += (double)us * (double)us;
  if (n->k[K_COMPLETED] == 1 || us < n->min_us) n->min_us = us;
  if (us > n->max_us) n->max_us = us;
  int cls = c->status / 100;
  if (cls >= 1 && cls <= 5) n->k[K_1XX + cls - 1]++;
  if (cls == 2) {
    if (opt.expect_bytes >= 0 && c->body_len != opt.expect_bytes) n->k[K_WRONG_BODY]++;
    else n->k[K_OK]++;
  }
  n->last_done_ns = now;
}

static int header_is(const char *line, size_t len, const char *name) {
  size_t k = strlen(name);
  return len > k && strncasecmp(line, name, k) == 0 && line[k] == ':';
}

static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen) {
  const char *v = line + strlen(name) + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
  *vlen = (size_t)(end - v);
  return v;
}

/* Reads a complete response head; 0 when it is usable, -1 for a parse error. */
static int parse_head(struct conn *c, const char *head, size_t len) {
  if (len < 12 || strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ') return -1;
  int status = 0;
  for (int i = 9; i < 12; i++) {
    if (head[i] < '0' || head[i] > '9') return -1;
    status = status * 10 + (head[i] - '0');
  }
  c->status = status;
  c->close_after = head[7] == '0';
  int64_t length = -1;
  const char *p = memchr(head, '\n', len);
  while (p != NULL && (size_t)(p + 1 - head) < len) {
    const char *line = p + 1;
    const char *eol = memchr(line, '\n', len - (size_t)(line - head));
    if (eol == NULL) break;
    size_t ll = (size_t)(eol - line);
    if (ll > 0 && line[ll - 1] == '\r') ll--;
    size_t vlen;
    if (header_is(line, ll, "content-length")) {
      const char *v = header_value(line, ll, "content-length", &vlen);
      char *end;
      char buf[32];
      if (vlen == 0 || vlen >= sizeof buf) return -1;
      memcpy(buf, v, vlen);
      buf[vlen] = '\0';
      length = strtoll(buf, &end, 10);
      if (*end != '\0' || length < 0) return -1;
    } else if (header_is(line, ll, "connection")) {
      const char *v = header_value(line, ll, "connection", &vlen);
      if (vlen == 5 && strncasecmp(v, "close", 5) == 0) c->close_after = 1;
      if (vlen == 10 && strncasecmp(v, "keep-alive", 10) == 0) c->close_after = 0;
    } else if (header_is(line, ll, "transfer-encoding")) {
      return -1; /* chunked bodies are not read: every server under test sends Content-Length */
    }
    p = eol;
  }
  if (status == 204 || status == 304 || (status >= 100 && status < 200)) length = 0;
  if (length < 0) return -1;
  c->body_left = length;
  c->body_len = length;
  c->pstate = P_BODY;
  return 0;
}

static void response_done(struct worker *w, struct conn *c, int64_t now, size_t leftover) {
  record_response(w, c, now);
  w->busy--;
  c->state = C_DONE;
  if (leftover > 0) {
    w->n.k[K_ERR_PARSE]++; /* bytes nobody asked for: the connection cannot be trusted */
    close_conn(w, c);
  } else if (c->close_after || opt.request_close) {
    close_conn(w, c);
  } else {
    c->pstate = P_HEAD;
    idle_push(w, c);
  }
}

/* Reads a response head that may span several reads; returns the bytes of data it used, -1 on error. */
static long take_head(struct worker *w, struct conn *c, const char *data, size_t len) {
  if (c->head_len == 0) {
    const char *end = memmem(data, len, "\r\n\r\n", 4);
    if (end != NULL) {
      size_t used = (size_t)(end + 4 - data);
      if (parse_head(c, data, used) != 0) return -1;
      w->n.k[K_BYTES_HEAD] += used;
      return (long)used;
    }
  }
  size_t take = len < MAX_HEAD - c->head_len ? len : MAX_HEAD - c->head_len;
  if (c->head == NULL) c->head = malloc(MAX_HEAD);
  if (c->head == NULL || take == 0) return -1;
  size_t before = c->head_len;
  memcpy(c->head + before, data, take);
  c->head_len += take;
  char *end = memmem(c->head, c->head_len, "\r\n\r\n", 4);
  if (end == NULL) return (long)take;
  size_t head_size = (size_t)(end + 4 - c->head);
  c->head_len = 0;
  if (parse_head(c, c->head, head_size) != 0) return -1;
  w->n.k[K_BYTES_HEAD] += head_size;
  return (long)(head_size - before);
}

/* Consumes bytes read from c; returns -1 once the connection is closed. */
static int consume(struct worker *w, struct conn *c, const char *data, size_t len, int64_t now) {
  w->n.k[K_BYTES_TOTAL] += len;
  while (len > 0) {
    if (c->state != C_BUSY) {
      w->n.k[K_ERR_PARSE]++; /* a response nobody asked for */
      close_conn(w, c);
      return -1;
    }
    if (c->pstate == P_HEAD) {
      long used = take_head(w, c, data, len);
      if (used < 0) {
        w->n.k[K_ERR_PARSE]++;
        close_conn(w, c);
        return -1;
      }
      data += used;
      len -= (size_t)used;
    } else {
      size_t take = (int64_t)len < c->body_left ? len : (size_t)c->body_left;
      c->body_left -= (int64_t)take;
      w->n.k[K_BYTES_BODY] += take;
      data += take;
      len -= take;
    }
    if (c->pstate == P_BODY && c->body_left == 0) {
      response_done(w, c, now, len);
      return c->state == C_FREE ? -1 : 0;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Real I/O                                                                                   */

static int real_open(struct worker *w, struct conn *c) {
  int fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&opt.addr, opt.addr_len) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->want_out = 1;
  c->deadline_ns = now_ns() + opt.timeout_ns;
  return 0;
}

static void want_writable(struct worker *w, struct conn *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = on;
}

static void write_request(struct worker *w, struct conn *c) {
  while (c->write_off < opt.request_len) {
    ssize_t k = send(c->fd, opt.request + c->write_off, opt.request_len - c->write_off, MSG_NOSIGNAL);
    if (k > 0) {
      c->write_off += (size_t)k;
    } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_writable(w, c, 1);
      return;
    } else if (k < 0 && errno == EINTR) {
      continue;
    } else {
      w->n.k[K_ERR_WRITE]++;
      close_conn(w, c);
      return;
    }
  }
  want_writable(w, c, 0);
}

static void real_send(struct worker *w, struct conn *c) {
  c->deadline_ns = c->sent_ns + opt.timeout_ns;
  write_request(w, c);
}

static const struct io_ops real_io = {real_open, real_send};

static void on_readable(struct worker *w, struct conn *c, int64_t now) {
  for (;;) {
    ssize_t k = recv(c->fd, w->scratch, READ_CHUNK, 0);
    if (k > 0) {
      if (consume(w, c, w->scratch, (size_t)k, now) != 0) return;
      if (k < READ_CHUNK) return;
    } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else if (k < 0 && errno == EINTR) {
      continue;
    } else {
      /* An idle connection the server closed is no error; one with a request in flight is. */
      if (c->state == C_BUSY) w->n.k[K_ERR_READ]++;
      close_conn(w, c);
      return;
    }
  }
}

static void on_event(struct worker *w, struct conn *c, uint32_t events, int64_t now) {
  if (c->state == C_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      connect_failed(w, c);
      return;
    }
    if (!(events & (EPOLLOUT | EPOLLIN | EPOLLERR | EPOLLHUP))) return;
    want_writable(w, c, 0);
    connected(w, c);
    return;
  }
  if ((events & EPOLLOUT) && c->state == C_BUSY && c->write_off < opt.request_len) {
    write_request(w, c);
    if (c->state == C_FREE) return;
  }
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(w, c, now);
}

/* In-flight requests and connects past their deadline fail; checked every few milliseconds. */
static void expire(struct worker *w, int64_t now) {
  for (int i = 0; i < w->high_water; i++) {
    struct conn *c = &w->conns[i];
    if ((c->state == C_BUSY || c->state == C_CONNECTING) && now >= c->deadline_ns) {
      if (c->state == C_BUSY) w->n.k[K_TIMEOUTS]++;
      if (c->state == C_CONNECTING) {
        connect_failed(w, c);
      } else {
        close_conn(w, c);
      }
    }
  }
}

/* Opens the thread's share of -c before the clock starts, waiting for them within the timeout. */
static void warm_up(struct worker *w) {
  for (int i = 0; i < w->min_conns; i++) open_conn(w);
  int64_t deadline = now_ns() + opt.timeout_ns;
  struct epoll_event events[EVENTS];
  while (w->connecting > 0 && now_ns() < deadline) {
    int n = epoll_wait(w->epfd, events, EVENTS, 10);
    for (int i = 0; i < n; i++) on_event(w, events[i].data.ptr, events[i].events, now_ns());
  }
  w->n.k[K_EARLY_CONNECT_FAILS] = w->n.k[K_ERR_CONNECT];
}

static pthread_barrier_t ready_barrier, go_barrier;
static int64_t start_ns;

static void run_loop(struct worker *w) {
  struct epoll_event events[EVENTS];
  int64_t end_ns = w->t0_ns + (int64_t)(opt.duration_s * NS_PER_S);
  int64_t drain_until = end_ns + opt.timeout_ns;
  int64_t next_expire = 0;
  for (;;) {
    int64_t now = now_ns();
    dispatch(w, now);
    if (now >= next_expire) {
      expire(w, now);
      next_expire = now + 5000000;
    }
    if (w->seen >= w->count && w->next >= w->count && w->busy == 0) break;
    if (now >= drain_until) break;
    int64_t wake = next_expire;
    if (!w->blocked && w->seen < w->count) {
      int64_t due = intended_at(w, w->seen);
      if (due < wake) wake = due;
    }
    int64_t wait = wake - now;
    if (wait < 0) wait = 0;
    struct timespec ts = {.tv_sec = wait / NS_PER_S, .tv_nsec = wait % NS_PER_S};
    int n = epoll_pwait2(w->epfd, events, EVENTS, &ts, NULL);
    if (n > 0) now = now_ns();
    for (int i = 0; i < n; i++) on_event(w, events[i].data.ptr, events[i].events, now);
  }
  w->n.k[K_UNSENT] = w->count - w->next;
  for (int i = 0; i < w->high_water; i++) {
    struct conn *c = &w->conns[i];
    if (c->state == C_BUSY) w->n.k[K_TIMEOUTS]++; /* still in flight when the time was up */
    if (c->state != C_FREE) close_conn(w, c);
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  if (w->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  warm_up(w);
  pthread_barrier_wait(&ready_barrier);
  pthread_barrier_wait(&go_barrier);
  w->t0_ns = start_ns;
  run_loop(w);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Arguments                                                                                  */

static double number_arg(const char *name, const char *text, double min) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < min) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a number of at least %g, got '%%s'", name, min);
    usage_error(msg, text);
  }
  return v;
}

static int int_arg(const char *name, const char *text, int min) {
  double v = number_arg(name, text, min);
  if (v != floor(v) || v > 1e9) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a whole number, got '%%s'", name);
    usage_error(msg, text);
  }
  return (int)v;
}

static void resolve_target(const char *url, char **host_header, char **path) {
  if (strncmp(url, "http://", 7) != 0) usage_error("only http:// URLs are loaded, got '%s'", url);
  const char *host = url + 7;
  const char *slash = strchr(host, '/');
  size_t authority_len = slash ? (size_t)(slash - host) : strlen(host);
  *path = strdup(slash ? slash : "/");
  *host_header = strndup(host, authority_len);
  char *authority = strndup(host, authority_len);
  char *port = "80";
  char *name = authority;
  if (authority[0] == '[') {
    char *close = strchr(authority, ']');
    if (close == NULL) usage_error("bad IPv6 address in '%s'", url);
    *close = '\0';
    name = authority + 1;
    if (close[1] == ':') port = close + 2;
  } else {
    char *colon = strrchr(authority, ':');
    if (colon) {
      *colon = '\0';
      port = colon + 1;
    }
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  if (*name == '\0' || getaddrinfo(name, port, &hints, &res) != 0 || res == NULL)
    usage_error("cannot resolve the host of '%s'", url);
  memcpy(&opt.addr, res->ai_addr, res->ai_addrlen);
  opt.addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  free(authority);
}

static void build_request(const char *url, char **headers, int nheaders) {
  char *host, *path;
  resolve_target(url, &host, &path);
  size_t size = strlen(path) + strlen(host) + 64;
  for (int i = 0; i < nheaders; i++) size += strlen(headers[i]) + 2;
  opt.request = malloc(size);
  if (opt.request == NULL) {
    fprintf(stderr, "openloop: out of memory\n");
    exit(1);
  }
  int has_host = 0;
  for (int i = 0; i < nheaders; i++) has_host |= strncasecmp(headers[i], "host:", 5) == 0;
  size_t n = (size_t)sprintf(opt.request, "GET %s HTTP/1.1\r\n", path);
  if (!has_host) n += (size_t)sprintf(opt.request + n, "Host: %s\r\n", host);
  for (int i = 0; i < nheaders; i++) {
    if (strpbrk(headers[i], "\r\n") != NULL || strchr(headers[i], ':') == NULL)
      usage_error("bad header '%s'", headers[i]);
    n += (size_t)sprintf(opt.request + n, "%s\r\n", headers[i]);
  }
  n += (size_t)sprintf(opt.request + n, "\r\n");
  opt.request_len = n;
  opt.request_close = strcasestr(opt.request, "\r\nConnection: close\r\n") != NULL;
  free(host);
  free(path);
}

static const char *HELP =
    "usage: openloop -R RATE -d SECONDS [options] URL\n"
    "Sends GET requests to URL at RATE per second, at fixed intended times, and measures each\n"
    "latency from the intended send time (open loop).\n"
    "  -R, --rate N             requests per second, offered whatever the server does\n"
    "  -d, --duration S         seconds of sending (RATE x S requests in all)\n"
    "  -c, --connections N      connections opened before the start (default 1; more are\n"
    "                           opened whenever a request finds none idle)\n"
    "  -C, --max-connections N  bound on connections (default 10000, within the fd limit)\n"
    "  -t, --threads N          threads, one per CPU of the affinity mask (default: that many)\n"
    "  -T, --timeout S          seconds a request may take (default 10)\n"
    "  -L, --late-us N          a send noticed more than N us after its time is late (default 1000)\n"
    "  -B, --expect-bytes N     a 2xx response whose body is not N bytes is not a success\n"
    "  -H, --header 'N: v'      add a request header (repeatable)\n"
    "  --simulate               read a scheduler script on stdin (tests; see the driver's tests)\n"
    "  --record                 record the microsecond values on stdin into a histogram and print\n"
    "                           its percentiles and encoding (tests)\n"
    "  -v, --version            print the version\n";

static int run_simulation(void);
static int run_record(void);

static int allowed_cpus(int *cpus, int max) {
  cpu_set_t set;
  int n = 0;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  for (int i = 0; i < CPU_SETSIZE && n < max; i++)
    if (CPU_ISSET(i, &set)) cpus[n++] = i;
  return n;
}

static const char *parse_args(int argc, char **argv, char **headers, int *nheaders) {
  static const struct option longs[] = {
      {"rate", required_argument, 0, 'R'},     {"duration", required_argument, 0, 'd'},
      {"connections", required_argument, 0, 'c'}, {"max-connections", required_argument, 0, 'C'},
      {"threads", required_argument, 0, 't'},  {"timeout", required_argument, 0, 'T'},
      {"late-us", required_argument, 0, 'L'},  {"expect-bytes", required_argument, 0, 'B'},
      {"header", required_argument, 0, 'H'},   {"simulate", no_argument, 0, 'S'},
      {"record", no_argument, 0, 'Q'},
      {"version", no_argument, 0, 'v'},        {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  opt = (struct options){.min_conns = 1, .max_conns = 10000, .timeout_ns = 10 * NS_PER_S,
                         .late_bound_ns = 1000000, .expect_bytes = -1};
  int ch;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "R:d:c:C:t:T:L:B:H:vh", longs, NULL)) != -1) {
    switch (ch) {
      case 'R': opt.rate = number_arg("--rate", optarg, 1e-9); break;
      case 'd': opt.duration_s = number_arg("--duration", optarg, 1e-9); break;
      case 'c': opt.min_conns = int_arg("--connections", optarg, 1); break;
      case 'C': opt.max_conns = int_arg("--max-connections", optarg, 1); break;
      case 't': opt.threads = int_arg("--threads", optarg, 1); break;
      case 'T': opt.timeout_ns = (int64_t)(number_arg("--timeout", optarg, 0.001) * NS_PER_S); break;
      case 'L': opt.late_bound_ns = (int64_t)(number_arg("--late-us", optarg, 0) * 1000); break;
      case 'B': opt.expect_bytes = int_arg("--expect-bytes", optarg, 0); break;
      case 'H':
        if (*nheaders >= 64) usage_error("too many headers%s", "");
        headers[(*nheaders)++] = optarg;
        break;
      case 'S': exit(run_simulation());
      case 'Q': exit(run_record());
      case 'v': printf("openloop %s\n", OPENLOOP_VERSION); exit(0);
      case 'h': fputs(HELP, stdout); exit(0);
      default: usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) usage_error("give exactly one URL%s", "");
  if (opt.rate <= 0) usage_error("give a rate (-R)%s", "");
  if (opt.duration_s <= 0) usage_error("give a duration (-d)%s", "");
  if (opt.max_conns < opt.min_conns) usage_error("--max-connections is below --connections%s", "");
  return argv[optind];
}

/* ------------------------------------------------------------------------------------------ */
/* The run and its report                                                                     */

static void add_counts(struct counts *into, const struct counts *from) {
  for (int i = 0; i < K_COUNT; i++) into->k[i] += from->k[i];
  if (from->max_lag_ns > into->max_lag_ns) into->max_lag_ns = from->max_lag_ns;
  into->peak_conns += from->peak_conns;
  into->limit_hit |= from->limit_hit;
  if (from->last_done_ns > into->last_done_ns) into->last_done_ns = from->last_done_ns;
  into->sum_us += from->sum_us;
  into->sum_sq_us += from->sum_sq_us;
  uint64_t before = into->k[K_COMPLETED] - from->k[K_COMPLETED];
  if (from->k[K_COMPLETED] > 0 && (before == 0 || from->min_us < into->min_us)) into->min_us = from->min_us;
  if (from->max_us > into->max_us) into->max_us = from->max_us;
}

static void print_report(const struct counts *n, const struct hist *h, double elapsed) {
  const uint64_t *k = n->k;
  char *encoded = hist_encode_compressed(h);
  double done = (double)k[K_COMPLETED];
  double mean = done > 0 ? n->sum_us / done : 0;
  double var = done > 0 ? n->sum_sq_us / done - mean * mean : 0;
  printf("{\"tool\":\"openloop\",\"version\":\"%s\",\n", OPENLOOP_VERSION);
  printf(" \"rate\":%.17g,\"durationSeconds\":%.17g,\"threads\":%d,\"elapsedSeconds\":%.6f,\n", opt.rate,
         opt.duration_s, opt.threads, elapsed);
  if (opt.expect_bytes >= 0) printf(" \"expectBytes\":%lld,\n", opt.expect_bytes);
  else printf(" \"expectBytes\":null,\n");
  printf(" \"requests\":{\"planned\":%lu,\"sent\":%lu,\"completed\":%lu,\"ok\":%lu,\"wrongBodySize\":%lu,"
         "\"errored\":%lu,\"unsent\":%lu},\n",
         k[K_PLANNED], k[K_SENT], k[K_COMPLETED], k[K_OK], k[K_WRONG_BODY], k[K_ERRORED], k[K_UNSENT]);
  printf(" \"status\":{\"1xx\":%lu,\"2xx\":%lu,\"3xx\":%lu,\"4xx\":%lu,\"5xx\":%lu},\n", k[K_1XX], k[K_2XX],
         k[K_3XX], k[K_4XX], k[K_5XX]);
  printf(" \"errors\":{\"connect\":%lu,\"read\":%lu,\"write\":%lu,\"parse\":%lu,\"timeout\":%lu},\n",
         k[K_ERR_CONNECT], k[K_ERR_READ], k[K_ERR_WRITE], k[K_ERR_PARSE], k[K_TIMEOUTS]);
  printf(" \"bytes\":{\"total\":%lu,\"headers\":%lu,\"body\":%lu},\n", k[K_BYTES_TOTAL], k[K_BYTES_HEAD],
         k[K_BYTES_BODY]);
  printf(" \"sends\":{\"lateBoundMicros\":%.3f,\"late\":%lu,\"maxLagMicros\":%.3f},\n",
         (double)opt.late_bound_ns / 1000, k[K_LATE], (double)n->max_lag_ns / 1000);
  printf(" \"connections\":{\"min\":%d,\"max\":%d,\"opened\":%lu,\"peak\":%d,\"limitReached\":%s,"
         "\"requestsWaitingAtLimit\":%lu,\"failedBeforeStart\":%lu},\n",
         opt.min_conns, opt.max_conns, k[K_OPENED], n->peak_conns, n->limit_hit ? "true" : "false",
         k[K_LIMIT_WAITS], k[K_EARLY_CONNECT_FAILS]);
  printf(" \"latencyMicros\":{\"min\":%ld,\"mean\":%.3f,\"stdev\":%.3f,\"max\":%ld,\"p50\":%ld,\"p75\":%ld,"
         "\"p90\":%ld,\"p99\":%ld,\"p999\":%ld},\n",
         done > 0 ? n->min_us : 0, mean, sqrt(var > 0 ? var : 0), n->max_us, hist_percentile(h, 50),
         hist_percentile(h, 75), hist_percentile(h, 90), hist_percentile(h, 99), hist_percentile(h, 99.9));
  printf(" \"histogram\":{\"lowestMicros\":%ld,\"highestMicros\":%ld,\"significantDigits\":%d,"
         "\"encoding\":\"HdrHistogram V2 compressed, base64\",\"value\":\"%s\"}}\n",
         h->lowest, h->highest, h->digits, encoded ? encoded : "");
  if (encoded == NULL) fprintf(stderr, "openloop: could not encode the histogram\n");
  free(encoded);
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)opt.max_conns + 64 > rl.rlim_cur)
    opt.max_conns = rl.rlim_cur > 64 + (rlim_t)opt.min_conns ? (int)(rl.rlim_cur - 64) : opt.min_conns;
}

static int setup_worker(struct worker *w, int id, int cpu, uint64_t total) {
  memset(w, 0, sizeof *w);
  w->id = id;
  w->cpu = cpu;
  w->io = &real_io;
  w->first = (uint64_t)id;
  w->stride = (uint64_t)opt.threads;
  w->count = total > (uint64_t)id ? (total - (uint64_t)id + w->stride - 1) / w->stride : 0;
  w->interval_ns = (double)NS_PER_S / opt.rate;
  w->n.k[K_PLANNED] = w->count;
  w->min_conns = opt.min_conns / opt.threads + (id < opt.min_conns % opt.threads);
  w->max_conns = opt.max_conns / opt.threads + (id < opt.max_conns % opt.threads);
  if (w->min_conns < 1) w->min_conns = 1;
  if (w->max_conns < w->min_conns) w->max_conns = w->min_conns;
  w->scratch = malloc(READ_CHUNK);
  w->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (init_slots(w) != 0 || w->scratch == NULL || w->epfd < 0) return -1;
  return latency_hist_init(&w->hist);
}

/* Everything a worker holds; its connections are already closed (run_loop). */
static void free_worker(struct worker *w) {
  close(w->epfd);
  free(w->conns);
  free(w->free_slots);
  free(w->scratch);
  free(w->hist.counts);
}

int main(int argc, char **argv) {
  char *headers[64];
  int nheaders = 0;
  const char *url = parse_args(argc, argv, headers, &nheaders);
  build_request(url, headers, nheaders);
  int cpus[MAX_THREADS];
  int ncpus = allowed_cpus(cpus, MAX_THREADS);
  if (opt.threads == 0) opt.threads = ncpus > 0 ? ncpus : 1;
  if (opt.threads > MAX_THREADS) usage_error("at most 256 threads%s", "");
  if (opt.min_conns < opt.threads) opt.min_conns = opt.threads;
  if (opt.max_conns < opt.min_conns) opt.max_conns = opt.min_conns;
  raise_fd_limit();
  signal(SIGPIPE, SIG_IGN);
  uint64_t total = (uint64_t)llround(opt.rate * opt.duration_s);
  if (total == 0) usage_error("rate x duration is below one request%s", "");
  struct worker *workers = calloc((size_t)opt.threads, sizeof *workers);
  for (int i = 0; i < opt.threads; i++) {
    if (workers == NULL || setup_worker(&workers[i], i, ncpus >= opt.threads ? cpus[i] : -1, total) != 0) {
      fprintf(stderr, "openloop: out of memory or file descriptors\n");
      return 1;
    }
  }
  pthread_barrier_init(&ready_barrier, NULL, (unsigned)opt.threads + 1);
  pthread_barrier_init(&go_barrier, NULL, (unsigned)opt.threads + 1);
  for (int i = 0; i < opt.threads; i++) pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
  pthread_barrier_wait(&ready_barrier);
  start_ns = now_ns() + 1000000; /* every thread's first request lies after it is running */
  pthread_barrier_wait(&go_barrier);
  struct counts sum = {0};
  struct hist merged;
  if (latency_hist_init(&merged) != 0) return 1;
  for (int i = 0; i < opt.threads; i++) {
    pthread_join(workers[i].thread, NULL);
    add_counts(&sum, &workers[i].n);
    hist_add(&merged, &workers[i].hist);
  }
  double elapsed = opt.duration_s;
  if (sum.last_done_ns > 0 && (double)(sum.last_done_ns - start_ns) / NS_PER_S > elapsed)
    elapsed = (double)(sum.last_done_ns - start_ns) / NS_PER_S;
  print_report(&sum, &merged, elapsed);
  if (sum.k[K_EARLY_CONNECT_FAILS] > 0)
    fprintf(stderr, "openloop: %lu of the first connections failed\n", sum.k[K_EARLY_CONNECT_FAILS]);
  for (int i = 0; i < opt.threads; i++) free_worker(&workers[i]);
  free(workers);
  free(merged.counts);
  free(opt.request);
  return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* --simulate: the scheduler on a fake clock, for tests                                        */

static int sim_open(struct worker *w, struct conn *c) {
  (void)w;
  printf("open %d\n", c->slot);
  return 0;
}

static void sim_send(struct worker *w, struct conn *c) {
  uint64_t j = w->next - 1;
  printf("send %lu on %d intended %ld at %ld\n", w->first + j * w->stride, c->slot,
         (c->intended_ns - w->t0_ns) / 1000, (c->sent_ns - w->t0_ns) / 1000);
}

static const struct io_ops sim_io = {sim_open, sim_send};

/*
 * Script lines (times in microseconds from the start):
 *   start RATE COUNT MIN MAX LATE_US [FIRST STRIDE]   one thread's schedule and connection bounds
 *   at T            the clock reads T; the scheduler runs
 *   connected S     connection S finished connecting (then the scheduler runs)
 *   failed S        connection S could not connect
 *   respond S       the response on connection S arrived
 *   close S         the server closed idle connection S
 * Output: "open S", "send K on S intended T at T" (K the global request number), "done on S
 * latency US" (from the intended time), and a final line of counts.
 */
static int sim_line(struct worker *w, const char *line, int64_t *now) {
  double rate;
  unsigned long count, first = 0, stride = 1;
  int min, max, slot;
  long late, t;
  if (sscanf(line, "start %lf %lu %d %d %ld %lu %lu", &rate, &count, &min, &max, &late, &first, &stride) >= 5) {
    if (w->conns != NULL || rate <= 0 || min < 0 || max < 1 || min > max || stride < 1) return -1;
    opt.late_bound_ns = late * 1000;
    opt.rate = rate;
    w->interval_ns = (double)NS_PER_S / rate;
    w->count = count;
    w->first = first;
    w->stride = stride;
    w->min_conns = min;
    w->max_conns = max;
    if (init_slots(w) != 0 || latency_hist_init(&w->hist) != 0) return -1;
    for (int i = 0; i < min; i++) open_conn(w);
    return 0;
  }
  if (w->conns == NULL) return -1;
  if (sscanf(line, "at %ld", &t) == 1) {
    *now = t * 1000;
    dispatch(w, *now);
    return 0;
  }
  char verb[16];
  if (sscanf(line, "%15s %d", verb, &slot) != 2 || slot < 0 || slot >= w->max_conns) return -1;
  struct conn *c = &w->conns[slot];
  if (strcmp(verb, "connected") == 0 && c->state == C_CONNECTING) {
    connected(w, c);
  } else if (strcmp(verb, "failed") == 0 && c->state == C_CONNECTING) {
    connect_failed(w, c);
  } else if (strcmp(verb, "respond") == 0 && c->state == C_BUSY) {
    c->status = 200;
    c->pstate = P_BODY;
    printf("done on %d latency %ld\n", slot, (*now - c->intended_ns) / 1000);
    response_done(w, c, *now, 0);
  } else if (strcmp(verb, "close") == 0 && c->state == C_IDLE) {
    close_conn(w, c);
  } else {
    return -1;
  }
  dispatch(w, *now);
  return 0;
}

static int run_simulation(void) {
  struct worker w;
  memset(&w, 0, sizeof w);
  w.io = &sim_io;
  char line[256];
  int64_t now = 0;
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (sim_line(&w, line, &now) != 0) {
      fprintf(stderr, "openloop: bad or out-of-place script line: %s", line);
      return 2;
    }
  }
  printf("late %lu waits %lu lag %ld opened %lu failed %lu errored %lu completed %lu\n", w.n.k[K_LATE],
         w.n.k[K_LIMIT_WAITS], w.n.max_lag_ns / 1000, w.n.k[K_OPENED], w.n.k[K_ERR_CONNECT], w.n.k[K_ERRORED],
         w.n.k[K_COMPLETED]);
  return 0;
}

/* --record: the histogram and its encoding on values given on stdin, for tests. */
static int run_record(void) {
  struct hist h;
  if (latency_hist_init(&h) != 0) return 1;
  long long v;
  while (scanf("%lld", &v) == 1) hist_record(&h, v);
  char *encoded = hist_encode_compressed(&h);
  if (encoded == NULL) return 1;
  static const double percentiles[] = {0, 50, 75, 90, 99, 99.9, 99.99, 100};
  printf("{\"count\":%lu,\"percentiles\":[", h.total);
  for (size_t i = 0; i < sizeof percentiles / sizeof percentiles[0]; i++)
    printf("%s[%g,%ld]", i ? "," : "", percentiles[i], hist_percentile(&h, percentiles[i]));
  printf("],\"histogram\":\"%s\"}\n", encoded);
  free(encoded);
  return 0;
}
