#!/usr/bin/env python3
"""generate.py - writes engineering-notes.txt, the default prompt corpus.

Deterministic: a fixed seed, a fixed list of hand-written paragraphs and a
sentence grammar over technical vocabulary (software, caching, measurement).
The output is committed; rerun only to change the corpus:
    python3 data/corpus/generate.py > data/corpus/engineering-notes.txt
The text is original; it is not meant to be true, only varied English.
"""
import random

SEED = 20240601
TARGET_BYTES = 160_000

HANDWRITTEN = [
    "A cache is a promise that the second time will be cheaper than the first. "
    "Whether the promise holds depends on what the second time looks like: the same "
    "key, the same prefix, the same layout of bytes in memory. An engineer who wants "
    "to know whether a cache works must therefore describe the second time precisely "
    "before measuring anything, or the measurement answers a question nobody asked.",
    "Most timing mistakes come from measuring the wrong interval. The client starts a "
    "clock when it writes the request and stops it when the last byte arrives, and "
    "then the report calls the difference the model's speed. In that interval hide "
    "the connection handshake, the queue in front of the server, the tokenizer, the "
    "prefill of every prompt token, the decoding of the answer and the network on the "
    "way back. Separating them is the whole point of the exercise.",
    "Randomising the order of trials costs nothing and removes a whole family of "
    "doubts. If every cold request runs before every warm one, a slow drift in the "
    "machine's temperature or in the background load will look exactly like an "
    "effect of the cache. Shuffle the trials with a recorded seed, and the drift "
    "spreads evenly over both conditions, where it widens the intervals instead of "
    "biasing the estimate.",
    "The first request a server sees after it starts is rarely typical. Pages are "
    "faulted in, kernels are compiled for the shapes of the first batch, allocators "
    "grow their pools. A handful of discarded warm-up requests before measuring is "
    "cheap insurance, and the journal should still record them, marked as such, so "
    "that anyone can check how different they were.",
    "A median with a confidence interval says more than a mean with four decimals. "
    "Latency distributions have long right tails: a garbage collection, a page "
    "fault or a neighbour's burst of traffic adds hundreds of milliseconds to one "
    "request in fifty. The median shrugs them off; the interval says how much the "
    "median itself might move if the experiment were run again.",
    "Prefill is the part of a request in which the server reads the prompt. Its cost "
    "grows with the number of prompt tokens, roughly linearly for short prompts and "
    "faster for long ones, because every new token attends to every token before it. "
    "Decoding, by contrast, produces one token at a time and is limited by memory "
    "bandwidth more than by arithmetic.",
    "When a long system prompt is sent with every request, the server pays for its "
    "prefill again and again unless it recognises that the beginning of the prompt "
    "has not changed. A prefix cache keeps the attention keys and values of a recent "
    "prompt and reuses them when the next prompt starts with the same tokens. One "
    "changed character near the start, a timestamp for instance, is enough to defeat it.",
    "Pre-registration is a simple discipline: write down what you expect, and what "
    "would count as being wrong, before you look at the data. It protects the "
    "experimenter from the most persuasive person in the room, who is usually the "
    "experimenter after seeing a chart that almost supports the hypothesis.",
    "A journal written one line per trial, flushed and synced after every line, "
    "survives a crash with at most one trial lost. Resuming then means reading the "
    "journal, skipping the trials already recorded and continuing with the rest in "
    "the original order. The cost is a few milliseconds per trial, which is nothing "
    "next to the prefill of a long prompt.",
    "Configuration files deserve the same care as source code. A misspelled key that "
    "is silently ignored turns a carefully planned experiment into a different one, "
    "and nobody notices until the results look strange. Rejecting unknown keys, and "
    "suggesting the closest known one, costs a few lines of code and saves an "
    "afternoon of confusion.",
]

SUBJECTS = [
    "the scheduler", "the allocator", "the tokenizer", "the prefix cache", "the request queue",
    "the HTTP client", "the streaming parser", "the journal writer", "the reference server",
    "the benchmark harness", "the regression model", "the bootstrap", "the load generator",
    "the attention kernel", "the memory pool", "the connection pool", "the retry policy",
    "the batch builder", "the eviction policy", "the page table", "the build system",
    "the test suite", "the profiler", "the log shipper", "the configuration loader",
    "the release process", "the storage layer", "the index", "the compiler", "the linker",
    "the event loop", "the thread pool", "the garbage collector", "the hash table",
    "the rate limiter", "the health check", "the dashboard", "the timing loop",
    "the network stack", "the file system", "the report generator", "the statistics module",
]
VERBS_PAST = [
    "doubled", "halved", "hid", "exposed", "delayed", "reordered", "absorbed", "amplified",
    "masked", "explained", "shifted", "smoothed", "inflated", "trimmed", "recorded",
    "dropped", "duplicated", "serialised", "batched", "throttled", "cached", "invalidated",
]
OBJECTS = [
    "the first-token latency", "the tail of the distribution", "every cold request",
    "the warm-up phase", "the variance between repetitions", "the prefill time",
    "the decoding rate", "the median", "the slowest percentile", "the intercept of the fit",
    "the slope per token", "the cost of a long system prompt", "the queueing delay",
    "the time to the first byte", "the gap between tokens", "the memory footprint",
    "the hit rate", "the miss penalty", "the number of retries", "the size of each batch",
    "the order of the trials", "the drift over the afternoon", "the confidence interval",
    "the effect we wanted to measure", "the baseline without a system prompt",
]
CAUSES = [
    "because the prompt changed in its first few tokens", "because a timestamp crept into the prefix",
    "because the machine was also compiling a large project", "because the cache was too small",
    "because two sessions evicted each other", "because the warm-up was skipped",
    "because the server batched unrelated requests", "because the clock was not monotonic",
    "because the client reused a stale connection", "because the model was swapped out of memory",
    "because the thermal governor lowered the clock speed", "because the trials were not shuffled",
    "because the tokenizer counted differently than we assumed", "because a retry was counted as a success",
    "because the disk was busy flushing the page cache", "because the response was buffered by a proxy",
    "because the first request paid for loading the weights", "because the queue was never empty",
]
ADVERBS = [
    "quietly", "consistently", "occasionally", "unexpectedly", "reliably", "briefly",
    "predictably", "almost always", "only under load", "only on the first run",
    "in every repetition", "for no obvious reason", "exactly as the model predicted",
]
ADVICE = [
    "record the raw timings, not only the summary", "shuffle the trials with a recorded seed",
    "measure the baseline in the same session", "keep the prompt prefix byte-for-byte identical",
    "write the hypothesis down before the first run", "report the interval, not just the estimate",
    "discard the warm-up requests but keep them in the journal", "check the server's cached-token count",
    "vary one factor at a time when debugging, and all of them when measuring",
    "prefer the median when the tail is heavy", "fit the model on cold requests only",
    "state the units next to every number", "let the run resume after a crash",
    "keep the secret keys in the environment, never in the file", "fix the seed and publish it",
    "compare like with like: same model, same quantisation, same context size",
]
NUMBERS = ["two", "three", "five", "seven", "ten", "twelve", "twenty", "fifty", "a hundred",
           "several hundred", "a few thousand", "eighteen thousand"]
UNITS = ["milliseconds", "tokens", "requests", "seconds", "repetitions", "megabytes", "trials"]
PLACES = ["on the laptop", "on the shared build machine", "in the nightly run", "on the GPU server",
          "in the staging environment", "during the demo", "in the first pilot", "after the upgrade",
          "with the larger model", "with the quantised model", "at the longest prompt length"]
CONNECT = ["However,", "In practice,", "As a result,", "Later,", "At first,", "Surprisingly,",
           "On the other hand,", "For the same reason,", "In the second week,", "By contrast,",
           "Meanwhile,", "Even so,", "Eventually,", "To be fair,", "In hindsight,"]
PEOPLE = ["the engineer on call", "a reviewer", "the team", "one of the maintainers",
          "a new contributor", "the person who wrote the harness", "the release manager",
          "an outside user", "the statistician", "whoever ran the pilot"]
TOPICS = [
    "Notes on measuring prefill", "Why order matters", "The warm-up problem", "Reading a journal",
    "What the cache remembers", "Intervals instead of averages", "A pilot before the experiment",
    "Failure modes of timing code", "Tokens, not characters", "Sessions and follow-up questions",
    "Keeping secrets out of logs", "Resuming after a crash", "Drift and how to see it",
    "When the server lies", "Small prompts, large prompts", "Choosing repetitions",
]

TEMPLATES = [
    "{C} {subj} {adv} {vp} {obj} {place}.",
    "{Subj} {vp} {obj} {cause}.",
    "{C} {person} noticed that {subj} had {vp} {obj}, {cause}.",
    "It took {num} {unit} to see that {subj} {vp} {obj}.",
    "The lesson {person} drew was short: {advice}.",
    "If {subj} {vp} {obj}, the report should say so; otherwise {advice}.",
    "{Subj} is rarely the culprit, yet {place} it {vp} {obj} {adv}.",
    "We measured {obj} {num} times {place}, and {subj} {adv} {vp} it.",
    "{C} the fix was to {advice}, which took {num} {unit} of work.",
    "Nobody expected {subj} to matter until it {vp} {obj} {place}.",
    "{Person} argued that {obj} was noise; the data showed that {subj} {vp} it {cause}.",
    "A good rule is to {advice}, because {subj} can change {obj} without warning.",
    "The chart {place} made one thing plain: {subj} {vp} {obj}.",
    "{C} {obj} looked stable, but {subj} had {vp} it {cause}.",
    "Over {num} {unit}, {subj} {adv} {vp} {obj}.",
    "Ask whether {subj} {vp} {obj} before blaming the model.",
    "{Person} wrote a short script to check {obj}, and it showed that {subj} {vp} it {place}.",
    "The simplest explanation was that {subj} {vp} {obj} {cause}.",
    "{C} we decided to {advice}.",
    "There is no shortcut here: {advice}, and keep the journal.",
]


def cap(s):
    return s[0].upper() + s[1:]


def sentence(rng):
    t = rng.choice(TEMPLATES)
    subj = rng.choice(SUBJECTS)
    person = rng.choice(PEOPLE)
    return t.format(
        C=rng.choice(CONNECT), subj=subj, Subj=cap(subj), adv=rng.choice(ADVERBS),
        vp=rng.choice(VERBS_PAST), obj=rng.choice(OBJECTS), place=rng.choice(PLACES),
        cause=rng.choice(CAUSES), person=person, Person=cap(person), num=rng.choice(NUMBERS),
        unit=rng.choice(UNITS), advice=rng.choice(ADVICE))


def main():
    rng = random.Random(SEED)
    out = []
    size = 0
    section = 0
    hand = list(HANDWRITTEN)
    while size < TARGET_BYTES:
        title = "%d. %s" % (section + 1, TOPICS[section % len(TOPICS)])
        if section >= len(TOPICS):
            title += " (continued)"
        parts = [title, ""]
        for _ in range(rng.randint(3, 6)):
            if hand and rng.random() < 0.35:
                parts.append(hand.pop(0))
            else:
                parts.append(" ".join(sentence(rng) for _ in range(rng.randint(4, 8))))
            parts.append("")
        text = "\n".join(parts) + "\n"
        out.append(text)
        size += len(text.encode())
        section += 1
    for h in hand:
        out.append(h + "\n\n")
    print("".join(out).rstrip("\n"))


if __name__ == "__main__":
    main()
