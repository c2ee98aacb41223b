/* Unit tests of the prober's rules for one peer (gw_probe_judge and its
 * helpers), driven by a simulated clock and peer instead of a socket: when
 * probes go out, when a peer is down, and that a late loop or a late answer
 * is not taken for a dead peer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "gw/probe.h"

#define MS 1000000ull
#define T0 (1000 * MS) /* the simulation starts here: a clock is never 0 */

/* One peer as the prober sees it, and the network between them: every probe
 * is answered rtt later, except while the peer is dead or a probe is to be
 * lost. Answers are taken in when they arrive (the socket's callback) and
 * before each judgement (the prober's drain). */
struct sim {
	struct gw_probe_opts o;
	struct gw_lb_peer p;
	uint64_t now;
	uint64_t rtt;
	bool dead;
	unsigned int lose; /* the next this many probes get no answer */
	struct {
		uint32_t seq;
		uint64_t sent, at;
	} air[64];
	size_t n_air;
	uint64_t sends[256]; /* send times, in order */
	size_t n_sends;
	unsigned int missed, downs, answered, late;
	uint64_t down_at, up_at;
};

static void sim_init(struct sim *s, uint64_t rtt)
{
	memset(s, 0, sizeof(*s));
	s->o.interval_ms = 100;
	s->o.fast_interval_ms = 25;
	s->o.down_after = 3;
	s->p.configured = true;
	s->p.up = true;
	s->now = T0;
	s->rtt = rtt;
}

/* Takes in every answer that has arrived by now, as the prober does. */
static void sim_receive(struct sim *s)
{
	size_t i = 0;

	while (i < s->n_air) {
		int r;

		if (s->air[i].at > s->now) {
			i++;
			continue;
		}
		r = gw_probe_answered(&s->p, s->air[i].seq, s->air[i].sent, s->now);
		assert_true(r >= 0);
		s->answered++;
		s->late += r;
		if (!s->p.up) {
			s->p.up = true;
			s->up_at = s->now;
		}
		s->air[i] = s->air[--s->n_air];
	}
}

/* One turn of the prober's timer at s->now. */
static void sim_judge(struct sim *s)
{
	unsigned int r;

	sim_receive(s);
	r = gw_probe_judge(&s->o, &s->p, s->now);
	if (r & GW_PROBE_MISSED)
		s->missed++;
	if (r & GW_PROBE_DOWN) {
		assert_true(s->p.up);
		s->p.up = false;
		s->downs++;
		s->down_at = s->now;
	}
	if (r & GW_PROBE_SEND) {
		uint32_t seq = gw_probe_sent(&s->p, s->now);

		if (s->n_sends < 256)
			s->sends[s->n_sends++] = s->now;
		if (s->lose)
			s->lose--;
		else if (!s->dead && s->n_air < 64)
			s->air[s->n_air++] = (typeof(s->air[0])){seq, s->now, s->now + s->rtt};
	}
}

/* Runs the prober until `until`: its timer fires when gw_probe_next says,
 * answers arrive in between. */
static void sim_run(struct sim *s, uint64_t until)
{
	for (;;) {
		uint64_t t = gw_probe_next(&s->o, &s->p), a = UINT64_MAX;
		size_t i;

		for (i = 0; i < s->n_air; i++)
			if (s->air[i].at < a)
				a = s->air[i].at;
		if (t < s->now)
			t = s->now;
		if (a < t) {
			if (a > until)
				break;
			s->now = a;
			sim_receive(s);
			continue;
		}
		if (t > until)
			break;
		s->now = t;
		sim_judge(s);
	}
	s->now = until;
}

/* The peer dies: no answer from now on, not even to probes on the way. */
static void sim_kill(struct sim *s)
{
	s->dead = true;
	s->n_air = 0;
}

static void test_healthy_peer_probed_every_interval(void **state)
{
	struct sim s;
	size_t i;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + 1000 * MS + MS);
	assert_int_equal(s.n_sends, 11);
	for (i = 1; i < s.n_sends; i++)
		assert_int_equal(s.sends[i] - s.sends[i - 1], 100 * MS);
	assert_int_equal(s.missed, 0);
	assert_int_equal(s.late, 0);
	assert_int_equal(s.answered, 11);
	assert_true(s.p.up);
	assert_int_equal(s.p.misses, 0);
	assert_int_equal(s.p.rtt_us, 200);
}

/* The last answered probe left at T; the next at T + interval is missed at
 * T + interval + fast, and the two that confirm it follow at once. */
static void test_dead_peer_confirmed_at_fast_pace(void **state)
{
	struct sim s;
	uint64_t last;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + 500 * MS + MS / 2);
	last = s.sends[s.n_sends - 1];
	assert_int_equal(last, T0 + 500 * MS);
	sim_kill(&s);
	sim_run(&s, last + 175 * MS - 1);
	assert_true(s.p.up);
	assert_int_equal(s.p.misses, 2);
	sim_run(&s, last + 175 * MS);
	assert_false(s.p.up);
	assert_int_equal(s.downs, 1);
	assert_int_equal(s.down_at, last + 175 * MS);
	assert_int_equal(s.sends[s.n_sends - 3], last + 100 * MS);
	assert_int_equal(s.sends[s.n_sends - 2], last + 125 * MS);
	assert_int_equal(s.sends[s.n_sends - 1], last + 150 * MS);
	assert_int_equal(s.missed, 3);
}

/* A down peer is probed every interval again, and is up at its first answer. */
static void test_down_peer_probed_every_interval_and_comes_back(void **state)
{
	struct sim s;
	size_t n;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + MS);
	sim_kill(&s);
	sim_run(&s, T0 + 200 * MS);
	assert_false(s.p.up);
	n = s.n_sends;
	sim_run(&s, s.sends[n - 1] + 1000 * MS);
	assert_int_equal(s.n_sends - n, 10);
	assert_int_equal(s.sends[s.n_sends - 1] - s.sends[s.n_sends - 2], 100 * MS);
	assert_int_equal(s.downs, 1);
	assert_int_equal(s.p.misses, 3 + 9); /* the last probe is still out */

	s.dead = false;
	n = s.n_sends;
	sim_run(&s, s.now + 101 * MS);
	assert_true(s.p.up);
	assert_int_equal(s.up_at, s.sends[n] + MS / 5);
	assert_int_equal(s.p.misses, 0);
	assert_int_equal(s.downs, 1);
}

/* down_after misses in a row: an answer in between starts the count anew. */
static void test_any_answer_resets_the_count(void **state)
{
	struct sim s;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + MS);
	s.lose = 2;
	sim_run(&s, T0 + 300 * MS);
	assert_int_equal(s.missed, 2);
	assert_int_equal(s.p.misses, 0);
	s.lose = 2;
	sim_run(&s, T0 + 600 * MS);
	assert_int_equal(s.missed, 4);
	assert_true(s.p.up);
	assert_int_equal(s.downs, 0);
	/* after the answer, back to the interval */
	assert_int_equal(s.sends[s.n_sends - 1] - s.sends[s.n_sends - 2], 100 * MS);
}

/* The round trip rises from 0.2 to 30 ms, above the fast interval: the
 * first probe after the rise is missed, its late answer is a sign of life
 * (the peer stays up) and lengthens the deadline to three round trips, so
 * no probe after it is missed. */
static void test_late_answers_keep_the_peer_up(void **state)
{
	struct sim s;
	unsigned int missed;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + 500 * MS + MS);
	s.rtt = 30 * MS;
	sim_run(&s, T0 + 1000 * MS);
	assert_true(s.p.up);
	assert_int_equal(s.downs, 0);
	assert_int_equal(s.missed, 1);
	assert_int_equal(s.late, 1);
	assert_int_equal(s.p.rtt_us, 30000);
	assert_int_equal(gw_probe_deadline(&s.o, &s.p), 90 * MS);
	missed = s.missed;
	sim_run(&s, T0 + 3000 * MS);
	assert_int_equal(s.missed, missed);
	assert_int_equal(s.downs, 0);
}

/* A peer 80 ms away (more than three fast intervals) is never taken down
 * for its distance: its first probe may take the whole interval, and its
 * deadline is three round trips after that. Dead, it is down three
 * deadlines after the last answered probe's successor left. */
static void test_distant_peer(void **state)
{
	struct sim s;
	uint64_t last;

	sim_init(&s, 80 * MS);
	sim_run(&s, T0 + 5000 * MS);
	assert_true(s.p.up);
	assert_int_equal(s.missed, 0);
	assert_int_equal(s.downs, 0);
	assert_int_equal(gw_probe_deadline(&s.o, &s.p), 240 * MS);
	last = s.sends[s.n_sends - 1];
	sim_kill(&s);
	sim_run(&s, last + 2000 * MS);
	assert_false(s.p.up);
	assert_int_equal(s.downs, 1);
	assert_true(s.down_at <= last + 100 * MS + 3 * 240 * MS);
}

/* The loop was held up for 300 ms after sending a probe, whose answer came
 * in the meantime: it is read before the peer is judged. No miss. */
static void test_stalled_loop_reads_answers_first(void **state)
{
	struct sim s;
	uint64_t phase;

	for (phase = 0; phase < 100 * MS; phase += 7 * MS) {
		sim_init(&s, MS / 5);
		sim_run(&s, T0 + 300 * MS + phase);
		s.now += 300 * MS; /* nothing ran: no timer, no socket */
		sim_judge(&s);
		sim_run(&s, s.now + 500 * MS);
		assert_int_equal(s.missed, 0);
		assert_int_equal(s.downs, 0);
		assert_true(s.p.up);
	}
}

/* A 300 ms stall is twelve fast intervals, but probes that never left
 * cannot be missed: the peer that died meanwhile is down only once
 * down_after probes sent after the stall went unanswered. */
static void test_stalled_loop_judges_only_probes_sent(void **state)
{
	struct sim s;
	uint64_t resumed;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + 300 * MS + 10 * MS);
	sim_kill(&s);
	s.now += 300 * MS;
	resumed = s.now;
	sim_judge(&s);
	assert_int_equal(s.p.misses, 0); /* its last probe was answered */
	assert_int_equal(s.sends[s.n_sends - 1], resumed);
	sim_run(&s, resumed + 75 * MS - 1);
	assert_true(s.p.up);
	sim_run(&s, resumed + 75 * MS);
	assert_false(s.p.up);
	assert_int_equal(s.down_at, resumed + 75 * MS);
}

/* The same with the probe in the air when the loop stopped: its deadline
 * passed during the stall, which is one miss, not twelve. */
static void test_stalled_loop_probe_in_flight(void **state)
{
	struct sim s;
	uint64_t resumed;

	sim_init(&s, MS / 5);
	sim_run(&s, T0 + 300 * MS + MS / 10); /* sent at 300, answer not in yet */
	sim_kill(&s);
	s.now += 300 * MS;
	resumed = s.now;
	sim_judge(&s);
	assert_int_equal(s.p.misses, 1);
	assert_true(s.p.up);
	sim_run(&s, resumed + 50 * MS - 1);
	assert_true(s.p.up);
	sim_run(&s, resumed + 50 * MS);
	assert_false(s.p.up);
}

static void test_down_after_one(void **state)
{
	struct sim s;

	sim_init(&s, MS / 5);
	s.o.down_after = 1;
	sim_run(&s, T0 + MS);
	sim_kill(&s);
	sim_run(&s, T0 + 125 * MS);
	assert_false(s.p.up);
	assert_int_equal(s.down_at, T0 + 125 * MS);
}

/* Only an answer to one of the last probes, with its exact send time, and
 * only once, counts. */
static void test_answers_matched_exactly(void **state)
{
	struct gw_lb_peer p = {.up = true, .configured = true};
	uint64_t t = T0;
	uint32_t seq[6];
	int i;

	for (i = 0; i < 6; i++)
		seq[i] = gw_probe_sent(&p, t + i * MS);
	assert_int_equal(gw_probe_answered(&p, seq[5], t + 5 * MS + 1, t + 6 * MS), -ENOENT);
	assert_int_equal(gw_probe_answered(&p, seq[5] + 1, t + 5 * MS, t + 6 * MS), -ENOENT);
	assert_int_equal(gw_probe_answered(&p, seq[5], 0, t + 6 * MS), -ENOENT);
	/* older than the window */
	assert_int_equal(gw_probe_answered(&p, seq[1], t + MS, t + 6 * MS), -ENOENT);
	/* in the window: a late one, then the last one in time */
	assert_int_equal(gw_probe_answered(&p, seq[2], t + 2 * MS, t + 6 * MS), 1);
	assert_true(p.probe_out);
	assert_int_equal(gw_probe_answered(&p, seq[5], t + 5 * MS, t + 6 * MS), 0);
	assert_false(p.probe_out);
	assert_int_equal(p.rtt_us, 1000);
	/* never twice */
	assert_int_equal(gw_probe_answered(&p, seq[5], t + 5 * MS, t + 6 * MS), -ENOENT);
	assert_int_equal(gw_probe_answered(&p, seq[2], t + 2 * MS, t + 6 * MS), -ENOENT);
	/* nothing sent yet: nothing matches */
	memset(&p, 0, sizeof(p));
	assert_int_equal(gw_probe_answered(&p, 0, 0, t), -ENOENT);
	assert_int_equal(gw_probe_answered(&p, 0, t, t), -ENOENT);
}

static void test_prober_refuses_slow_fast_interval(void **state)
{
	struct gw_probe_opts o = {.interval_ms = 50, .fast_interval_ms = 50};

	o.src.family = AF_INET;
	errno = 0;
	assert_null(gw_prober_new(uv_default_loop(), NULL, &o, NULL, NULL));
	assert_int_equal(errno, EINVAL);
	o.interval_ms = 20; /* and the default fast interval */
	o.fast_interval_ms = 0;
	assert_null(gw_prober_new(uv_default_loop(), NULL, &o, NULL, NULL));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy_peer_probed_every_interval),
		cmocka_unit_test(test_dead_peer_confirmed_at_fast_pace),
		cmocka_unit_test(test_down_peer_probed_every_interval_and_comes_back),
		cmocka_unit_test(test_any_answer_resets_the_count),
		cmocka_unit_test(test_late_answers_keep_the_peer_up),
		cmocka_unit_test(test_distant_peer),
		cmocka_unit_test(test_stalled_loop_reads_answers_first),
		cmocka_unit_test(test_stalled_loop_judges_only_probes_sent),
		cmocka_unit_test(test_stalled_loop_probe_in_flight),
		cmocka_unit_test(test_down_after_one),
		cmocka_unit_test(test_answers_matched_exactly),
		cmocka_unit_test(test_prober_refuses_slow_fast_interval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
