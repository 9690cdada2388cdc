/* check_sched.c: unit tests of the farm's work order (master/sched.c): which job each slot gets
 * from sched_take, without processes. sched.c is linked alone; the few farm functions it calls
 * besides sched_take's own (sending, logging names, slot states) are stubs here and never run. */
#include "compat.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../master/farm_int.h"

/* ------------------------------------------------------------------ stubs of the farm */

int64_t farm_now_us(void) { return 0; }
const char *farm_cand_name(const struct farm *f, uint32_t cand, char *buf, size_t len)
{
    (void)f;
    snprintf(buf, len, "cand %u", cand);
    return buf;
}
void farm_sample_name(const struct farm *f, uint32_t task, uint32_t sample, char *buf, size_t len)
{
    (void)f;
    snprintf(buf, len, "task %u sample %u", task, sample);
}
void slot_set_state(struct slot *s, enum slot_state to, const char *why)
{
    (void)why;
    s->state = to;
}
const char *slot_state_name(enum slot_state s)
{
    (void)s;
    return "?";
}

/* ------------------------------------------------------------------ the bed */

#define MAX_TASKS 8

struct bed {
    struct task tasks[MAX_TASKS];
    struct task_set set;
    struct farm_plan plan;
    struct farm_config cfg;
    struct farm_stats st;
    struct slot slots[4];
    struct ref roots[4];
    struct farm f;
    bool done[MAX_TASKS][8][4]; /* [task][sample][cand] */
};

static bool bed_is_done(void *ctx, uint32_t task, uint32_t sample, uint32_t cand)
{
    return ((struct bed *)ctx)->done[task][sample][cand];
}

/* n_tasks tasks of samples[t] samples each, n_cands candidates, n_slots slots, one candidate
 * per job (so every job is one (task, sample, cand) unit). b is zeroed but for b->done. */
static void bed_init(struct bed *b, int n_tasks, const int *samples, uint32_t n_cands, int n_slots)
{
    uint64_t units = 0;
    for (int t = 0; t < n_tasks; t++) {
        snprintf(b->tasks[t].name, sizeof b->tasks[t].name, "t%d", t);
        b->tasks[t].n_demo = (uint16_t)samples[t];
        for (int smp = 0; smp < samples[t]; smp++)
            for (uint32_t c = 0; c < n_cands; c++)
                units += !b->done[t][smp][c];
    }
    b->set.tasks = b->tasks;
    b->set.n = (size_t)n_tasks;
    b->plan.tasks = &b->set;
    b->plan.roots = b->roots;
    b->plan.n_cands = n_cands;
    b->plan.is_done = bed_is_done;
    b->plan.done_ctx = b;
    b->cfg.n_slots = n_slots;
    b->cfg.batch = 1;
    b->st.total = units;
    b->f.cfg = &b->cfg;
    b->f.plan = &b->plan;
    b->f.st = &b->st;
    b->f.slots = b->slots;
    b->f.n_slots = n_slots;
    for (int i = 0; i < n_slots; i++) b->slots[i].index = i;
    ck_assert_int_eq(sched_init(&b->f), 0);
}

/* The next job of slot i: its task (-1 when there is none), and the job is freed. */
static int take_task(struct bed *b, int i, uint32_t *sample)
{
    struct job *j = sched_take(&b->f, &b->slots[i]);
    if (!j) return -1;
    int t = (int)j->task;
    if (sample) *sample = j->sample;
    job_free(j);
    return t;
}

/* ------------------------------------------------------------------ tests */

/* Each slot keeps to the task it claimed; a slot whose task is done claims the next one nobody
 * has; at the end a slot with nothing left takes from the task with the most samples left. */
START_TEST(test_slot_keeps_its_task)
{
    static const int samples[] = { 3, 2, 4 };
    static struct bed b;
    bed_init(&b, 3, samples, 1, 2);
    ck_assert_int_eq(take_task(&b, 0, NULL), 0); /* slot 0 claims task 0 */
    ck_assert_int_eq(take_task(&b, 1, NULL), 1); /* slot 1 claims task 1 */
    ck_assert_int_eq(take_task(&b, 1, NULL), 1);
    ck_assert_int_eq(take_task(&b, 1, NULL), 2); /* task 1 done: slot 1 claims task 2 */
    ck_assert_int_eq(take_task(&b, 0, NULL), 0);
    ck_assert_int_eq(take_task(&b, 0, NULL), 0);
    /* task 0 done and no task left unclaimed: slot 0 takes from task 2 (3 samples left) */
    uint32_t sample = 99;
    ck_assert_int_eq(take_task(&b, 0, &sample), 2);
    ck_assert_uint_eq(sample, 1); /* in sample order: slot 1 took sample 0 */
    ck_assert(sched_has_work(&b.f));
    ck_assert_int_eq(take_task(&b, 1, &sample), 2);
    ck_assert_uint_eq(sample, 2);
    ck_assert_int_eq(take_task(&b, 1, &sample), 2);
    ck_assert_uint_eq(sample, 3);
    ck_assert(!sched_has_work(&b.f));
    ck_assert_int_eq(take_task(&b, 0, NULL), -1);
    ck_assert_int_eq(take_task(&b, 1, NULL), -1);
    sched_release(&b.f);
}
END_TEST

/* At the end, a slot takes from the claimed task with the most samples left, not the first. */
START_TEST(test_end_takes_from_the_longest)
{
    static const int samples[] = { 2, 5, 1 };
    static struct bed b;
    bed_init(&b, 3, samples, 1, 3);
    ck_assert_int_eq(take_task(&b, 0, NULL), 0);
    ck_assert_int_eq(take_task(&b, 1, NULL), 1);
    ck_assert_int_eq(take_task(&b, 2, NULL), 2);
    ck_assert_int_eq(take_task(&b, 2, NULL), 1); /* task 1 has 4 samples left, task 0 one */
    ck_assert_int_eq(take_task(&b, 0, NULL), 0);
    ck_assert_int_eq(take_task(&b, 0, NULL), 1);
    sched_release(&b.f);
}
END_TEST

/* Work already done (resume) is skipped: a task with nothing left is never claimed, and
 * sched_has_work says false once only done units remain. */
START_TEST(test_done_work_is_skipped)
{
    static const int samples[] = { 2, 2, 2 };
    static struct bed b;
    /* task 1 entirely done, task 2 sample 0 done */
    b.done[1][0][0] = b.done[1][1][0] = true;
    b.done[2][0][0] = true;
    bed_init(&b, 3, samples, 1, 2);
    ck_assert_int_eq(take_task(&b, 0, NULL), 0);
    uint32_t sample = 99;
    ck_assert_int_eq(take_task(&b, 1, &sample), 2); /* not task 1: nothing left there */
    ck_assert_uint_eq(sample, 1);
    ck_assert_int_eq(take_task(&b, 1, NULL), 0);    /* task 2 done: slot 1 helps with task 0 */
    ck_assert(!sched_has_work(&b.f));
    sched_release(&b.f);
}
END_TEST

/* Requeued work (a lost worker's) goes first, to whichever slot asks. */
START_TEST(test_requeued_first)
{
    static const int samples[] = { 2, 2 };
    static struct bed b;
    bed_init(&b, 2, samples, 2, 2);
    struct job *j = sched_take(&b.f, &b.slots[0]);
    ck_assert_uint_eq(j->task, 0);
    sched_requeue(&b.f, j);
    struct job *again = sched_take(&b.f, &b.slots[1]);
    ck_assert_ptr_eq(again, j);
    job_free(again);
    ck_assert_int_eq(take_task(&b, 1, NULL), 1); /* then slot 1 claims its own task */
    sched_release(&b.f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("order");
    tcase_add_test(tc, test_slot_keeps_its_task);
    tcase_add_test(tc, test_end_takes_from_the_longest);
    tcase_add_test(tc, test_done_work_is_skipped);
    tcase_add_test(tc, test_requeued_first);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
