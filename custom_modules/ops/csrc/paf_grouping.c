// Copyright (c) OpenMMLab. All rights reserved.
/*
 * Grouping of part affinity field candidates into people (OpenPose, MLN eq. 6
 * and the greedy assembly), compiled. It computes what the numpy reference,
 * PartAffinityField.group_numpy (custom_modules/codecs/part_affinity_field.py),
 * computes, in the same float operations (built with -ffp-contract=off), so
 * the two give the same people and scores; the tests hold them equal.
 *
 * Plain C without Python's API: custom_modules/ops/paf_grouping.py loads it
 * with ctypes, so one build serves every Python version. Arrays are
 * C-contiguous; int64_t indices, float32 positions and scores.
 *
 * The candidates ("peaks") are sorted by keypoint type: joints[] ascending.
 * Candidate pairs are listed limb-major, then by first candidate, then by
 * second candidate, as the reference lists them.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef PAF_GROUPING_SOURCE_HASH
#define PAF_GROUPING_SOURCE_HASH "unknown"
#endif

#define PAF_BAD_JOINTS -1
#define PAF_NO_MEMORY -2
#define PAF_BAD_SAMPLES -3
#define PAF_NO_PIXELS -4

/* The hash of this file that setup.py compiled in (stale builds are refused).
 */
const char *paf_grouping_source_hash(void) { return PAF_GROUPING_SOURCE_HASH; }

/* first[k] .. first[k + 1] - 1: the candidates of keypoint k. Returns 0, or
 * PAF_BAD_JOINTS if joints[] is not ascending within [0, num_keypoints). */
static int first_candidates(const int64_t *joints, int64_t num_peaks,
                            int64_t num_keypoints, int64_t *first) {
  int64_t p = 0;
  for (int64_t k = 0; k <= num_keypoints; ++k) {
    while (p < num_peaks && joints[p] < k) {
      if (joints[p] < 0 || (p > 0 && joints[p] < joints[p - 1]))
        return PAF_BAD_JOINTS;
      ++p;
    }
    first[k] = p;
  }
  return p == num_peaks ? 0 : PAF_BAD_JOINTS;
}

/* The number of candidate pairs of all limbs (limbs: (L, 2) keypoint types),
 * or a negative error code. */
int64_t paf_count_pairs(const int64_t *joints, int64_t num_peaks,
                        int64_t num_keypoints, const int64_t *limbs,
                        int64_t num_limbs) {
  int64_t *first = malloc((num_keypoints + 1) * sizeof(int64_t));
  if (!first) return PAF_NO_MEMORY;
  int64_t total = first_candidates(joints, num_peaks, num_keypoints, first);
  for (int64_t l = 0; total == 0 && l < num_limbs; ++l) {
    if (limbs[2 * l] < 0 || limbs[2 * l] >= num_keypoints ||
        limbs[2 * l + 1] < 0 || limbs[2 * l + 1] >= num_keypoints)
      total = PAF_BAD_JOINTS;
  }
  for (int64_t l = 0; total >= 0 && l < num_limbs; ++l) {
    int64_t a = limbs[2 * l], b = limbs[2 * l + 1];
    total += (first[a + 1] - first[a]) * (first[b + 1] - first[b]);
  }
  free(first);
  return total;
}

/* The map pixel (row, column) of sample `step` of segment a -> b: the position
 * start + step * (end - start) rounded half to even, clamped into the maps. */
static inline void sample_pixel(const float *xy, int64_t a, int64_t b,
                                float step, int64_t height, int64_t width,
                                int64_t *row, int64_t *column) {
  const float start_x = xy[2 * a], start_y = xy[2 * a + 1];
  const float vector_x = xy[2 * b] - start_x;
  const float vector_y = xy[2 * b + 1] - start_y;
  int64_t y = (int64_t)rintf(start_y + step * vector_y);
  int64_t x = (int64_t)rintf(start_x + step * vector_x);
  y = y < 0 ? 0 : y;
  x = x < 0 ? 0 : x;
  *row = y < height ? y : height - 1;
  *column = x < width ? x : width - 1;
}

/* Where eq. 6 samples every candidate pair (num_pairs, from
 * paf_count_pairs) of every limb, for a reader of the (2 L, height, width)
 * fields: with `flat`, samples (2, S, Q) are the flat indices of the x and y
 * channels of the pair's limb at its sample pixels; without, the pixels' rows
 * and columns. pair_limb (Q,), if not NULL, gets the pairs' limbs. Returns 0
 * or an error code. */
int paf_pair_samples(const int64_t *joints, int64_t num_peaks,
                     int64_t num_keypoints, const int64_t *limbs,
                     int64_t num_limbs, const float *xy, const float *steps,
                     int64_t num_samples, int64_t height, int64_t width,
                     int64_t num_pairs, int64_t flat, int64_t *samples,
                     int64_t *pair_limb) {
  if (height < 1 || width < 1) return PAF_NO_PIXELS;
  int64_t *first = malloc((num_keypoints + 1) * sizeof(int64_t));
  if (!first) return PAF_NO_MEMORY;
  int status = first_candidates(joints, num_peaks, num_keypoints, first);
  const int64_t plane = num_samples * num_pairs;
  int64_t p = 0;
  for (int64_t l = 0; status == 0 && l < num_limbs; ++l) {
    const int64_t type_a = limbs[2 * l], type_b = limbs[2 * l + 1];
    const int64_t pairs = (first[type_a + 1] - first[type_a]) *
                          (first[type_b + 1] - first[type_b]);
    if (p + pairs > num_pairs) {
      status = PAF_BAD_JOINTS;
      break;
    }
    for (int64_t a = first[type_a]; a < first[type_a + 1]; ++a) {
      for (int64_t b = first[type_b]; b < first[type_b + 1]; ++b, ++p) {
        if (pair_limb) pair_limb[p] = l;
        for (int64_t s = 0; s < num_samples; ++s) {
          int64_t y, x;
          sample_pixel(xy, a, b, steps[s], height, width, &y, &x);
          int64_t *out = samples + s * num_pairs + p;
          if (flat) {
            out[0] = (2 * l * height + y) * width + x;
            out[plane] = out[0] + height * width;
          } else {
            out[0] = y;
            out[plane] = x;
          }
        }
      }
    }
  }
  if (status == 0 && p != num_pairs) status = PAF_BAD_JOINTS;
  free(first);
  return status;
}

/* Where pair_score reads a limb's field: `fields` (2 L, height, width), or,
 * where that is NULL, `samples` (2, S, num_pairs), the x and y channels at
 * the samples of every pair. */
typedef struct {
  const float *fields;
  const float *samples;
  int64_t num_pairs, height, width, num_samples;
  const float *steps;
} FieldSource;

/* Eq. 6 for pair q, limb `limb`, a -> b: the mean field projected on the
 * segment's direction, plus OpenPose's penalty min(0.5 H / length - 1, 0)
 * for segments longer than half the map; -inf unless at least min_passes
 * samples exceed paf_thr and the score is positive (the reading stops at the
 * first sample that leaves fewer to pass). */
static float pair_score(const float *xy, int64_t a, int64_t b, int64_t limb,
                        int64_t q, const FieldSource *source, float paf_thr,
                        int64_t min_passes) {
  const int64_t num_samples = source->num_samples;
  const int64_t plane = source->height * source->width;
  const float vector_x = xy[2 * b] - xy[2 * a];
  const float vector_y = xy[2 * b + 1] - xy[2 * a + 1];
  const float length =
      sqrtf(vector_x * vector_x + vector_y * vector_y) + 1e-6f;
  const float unit_x = vector_x / length, unit_y = vector_y / length;
  float sum = 0.0f;
  int64_t passes = 0;
  for (int64_t s = 0; s < num_samples; ++s) {
    float field_x, field_y;
    if (source->fields) {
      int64_t y, x;
      sample_pixel(xy, a, b, source->steps[s], source->height, source->width,
                   &y, &x);
      const float *at =
          source->fields + (2 * limb * source->height + y) * source->width + x;
      field_x = at[0];
      field_y = at[plane];
    } else {
      field_x = source->samples[s * source->num_pairs + q];
      field_y = source->samples[(num_samples + s) * source->num_pairs + q];
    }
    const float projected = field_x * unit_x + field_y * unit_y;
    sum = s == 0 ? projected : sum + projected;
    if (projected > paf_thr)
      ++passes;
    else if (s + 1 - passes > num_samples - min_passes)
      return -INFINITY;
  }
  const float penalty = (float)(0.5 * (double)source->height) / length - 1.0f;
  const float score =
      sum / (float)num_samples + (penalty > 0.0f ? 0.0f : penalty);
  return passes >= min_passes && score > 0.0f ? score : -INFINITY;
}

typedef struct {
  float score;
  int64_t pair;
} ScoredPair;

/* Best score first; equal scores in listing order (lower first candidate,
 * then lower second candidate). */
static int by_score(const void *left, const void *right) {
  const ScoredPair *x = left, *y = right;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  return (x->pair > y->pair) - (x->pair < y->pair);
}

/* Union-find root of candidate k (path halving). */
static int64_t find_root(int64_t *parent, int64_t k) {
  while (parent[k] != k) {
    parent[k] = parent[parent[k]];
    k = parent[k];
  }
  return k;
}

/* Scores every candidate pair (eq. 6), matches each limb's pairs greedily
 * from the best (each candidate once per limb), joins the matched tree limbs
 * (limbs < num_tree_limbs) into people, then, pair by pair, joins through a
 * matched limb outside the tree the people of its two candidates where they
 * share no keypoint type (OpenPose's merge of disjoint subsets), and keeps the
 * people with at least min_parts keypoints and a mean score (peak scores plus
 * matched limb scores, over keypoints) of at least min_mean_score, in the order
 * of their first candidate before those joins (a joined person keeps the place
 * of the first keypoint's person; one emptied by a join keeps its own).
 *
 * The fields at the samples: read from `fields` (2 L, height, width) if it is
 * not NULL, else given as `samples` (2, S, Q), the x and y channels at the
 * samples that paf_pair_samples lists (Q = sampled_pairs, which must be the
 * number of pairs).
 *
 * Outputs (room for num_peaks people): keypoints (N, M, 2) map pixels,
 * keypoint_scores (N, M), 0 for a missing keypoint, instance_scores (N,).
 * Returns N, or a negative error code. */
int64_t paf_group(const int64_t *joints, const float *xy,
                  const float *peak_scores, int64_t num_peaks,
                  int64_t num_keypoints, const int64_t *limbs,
                  int64_t num_limbs, const float *steps, int64_t num_samples,
                  int64_t height, int64_t width, const float *fields,
                  const float *samples, int64_t sampled_pairs,
                  float paf_thr, int64_t min_passes,
                  int64_t num_tree_limbs, int64_t min_parts,
                  double min_mean_score, float *keypoints,
                  float *keypoint_scores, float *instance_scores) {
  if (height < 1 || width < 1) return PAF_NO_PIXELS;
  const int64_t num_pairs =
      paf_count_pairs(joints, num_peaks, num_keypoints, limbs, num_limbs);
  if (num_pairs <= 0) return num_pairs;
  if (!fields && sampled_pairs != num_pairs) return PAF_BAD_SAMPLES;
  const int64_t num_rows = num_peaks * num_keypoints;
  int64_t *first = malloc((num_keypoints + 1) * sizeof(int64_t));
  int64_t *pair_limb = malloc(num_pairs * sizeof(int64_t));
  int64_t *pair_a = malloc(num_pairs * sizeof(int64_t));
  int64_t *pair_b = malloc(num_pairs * sizeof(int64_t));
  float *scores = malloc(num_pairs * sizeof(float));
  ScoredPair *order = malloc(num_pairs * sizeof(ScoredPair));
  unsigned char *taken = calloc(num_pairs, 1);
  int64_t *used_a = malloc(num_peaks * sizeof(int64_t));
  int64_t *used_b = malloc(num_peaks * sizeof(int64_t));
  int64_t *person = malloc(num_peaks * sizeof(int64_t));
  int64_t *root = malloc(num_peaks * sizeof(int64_t));
  unsigned char *joined = calloc(num_pairs, 1);
  unsigned char *has_joint = calloc(num_rows, 1);
  int64_t *people = malloc(num_rows * sizeof(int64_t));
  double *peak_totals = calloc(num_peaks, sizeof(double));
  double *limb_totals = calloc(num_peaks, sizeof(double));
  int64_t num_people = PAF_NO_MEMORY;
  if (!first || !pair_limb || !pair_a || !pair_b || !scores ||
      !order || !taken || !used_a || !used_b || !person || !root ||
      !joined || !has_joint || !people || !peak_totals ||
      !limb_totals)
    goto done;
  first_candidates(joints, num_peaks, num_keypoints, first);

  /* the pairs, listed as paf_pair_samples lists them, and their scores */
  const FieldSource source = {fields, samples, num_pairs, height,
                              width,  num_samples, steps};
  int64_t q = 0;
  for (int64_t l = 0; l < num_limbs; ++l) {
    const int64_t type_a = limbs[2 * l], type_b = limbs[2 * l + 1];
    for (int64_t a = first[type_a]; a < first[type_a + 1]; ++a) {
      for (int64_t b = first[type_b]; b < first[type_b + 1]; ++b, ++q) {
        pair_limb[q] = l;
        pair_a[q] = a;
        pair_b[q] = b;
        scores[q] = pair_score(xy, a, b, l, q, &source, paf_thr, min_passes);
      }
    }
  }

  /* greedy matching, limb by limb (a limb's pairs are consecutive) */
  for (int64_t k = 0; k < num_peaks; ++k) used_a[k] = used_b[k] = -1;
  for (int64_t begin = 0, end; begin < num_pairs; begin = end) {
    int64_t count = 0;
    for (end = begin; end < num_pairs && pair_limb[end] == pair_limb[begin];
         ++end) {
      if (scores[end] > -INFINITY) {
        order[count].score = scores[end];
        order[count++].pair = end;
      }
    }
    qsort(order, count, sizeof(ScoredPair), by_score);
    const int64_t limb = pair_limb[begin];
    for (int64_t i = 0; i < count; ++i) {
      const int64_t pair = order[i].pair;
      if (used_a[pair_a[pair]] != limb && used_b[pair_b[pair]] != limb) {
        taken[pair] = 1;
        used_a[pair_a[pair]] = used_b[pair_b[pair]] = limb;
      }
    }
  }

  /* people: connected components of the matched tree limbs, each named by
   * its first candidate */
  for (int64_t k = 0; k < num_peaks; ++k) person[k] = k;
  for (int64_t p = 0; p < num_pairs; ++p) {
    if (!taken[p] || pair_limb[p] >= num_tree_limbs) continue;
    const int64_t x = find_root(person, pair_a[p]);
    const int64_t y = find_root(person, pair_b[p]);
    if (x < y) person[y] = x;
    if (y < x) person[x] = y;
  }
  for (int64_t k = 0; k < num_peaks; ++k) {
    person[k] = find_root(person, k);
    root[k] = person[k];
  }
  for (int64_t k = 0; k < num_peaks; ++k)
    has_joint[person[k] * num_keypoints + joints[k]] = 1;
  /* limbs outside the tree, one after another: the second keypoint's person
   * joins the first's where the two share no keypoint type */
  for (int64_t p = 0; p < num_pairs; ++p) {
    if (!taken[p] || pair_limb[p] < num_tree_limbs) continue;
    const int64_t first_person = person[pair_a[p]];
    const int64_t second_person = person[pair_b[p]];
    if (first_person == second_person) continue;
    unsigned char *into = has_joint + first_person * num_keypoints;
    const unsigned char *from = has_joint + second_person * num_keypoints;
    int shared = 0;
    for (int64_t j = 0; j < num_keypoints; ++j) shared |= into[j] & from[j];
    if (shared) continue;
    for (int64_t j = 0; j < num_keypoints; ++j) into[j] |= from[j];
    for (int64_t k = 0; k < num_peaks; ++k) {
      if (person[k] == second_person) person[k] = first_person;
    }
    joined[p] = 1;
  }

  /* people's keypoints (a later candidate of one keypoint replaces an
   * earlier one) and scores */
  for (int64_t i = 0; i < num_rows; ++i) people[i] = -1;
  for (int64_t k = 0; k < num_peaks; ++k) {
    people[person[k] * num_keypoints + joints[k]] = k;
    peak_totals[person[k]] += (double)peak_scores[k];
  }
  for (int64_t p = 0; p < num_pairs; ++p) {
    if (taken[p] && (pair_limb[p] < num_tree_limbs || joined[p]))
      limb_totals[person[pair_a[p]]] += (double)scores[p];
  }

  /* the people named by a first candidate (of the tree's components) in its
   * order, then the names of nobody (only min_parts <= 0 keeps either empty
   * kind) */
  num_people = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t n = 0; n < num_peaks; ++n) {
      if ((root[n] == n) != (pass == 0)) continue;
      const int64_t *row = people + n * num_keypoints;
      int64_t parts = 0;
      for (int64_t j = 0; j < num_keypoints; ++j) parts += row[j] >= 0;
      const double mean =
          (peak_totals[n] + limb_totals[n]) / (double)(parts > 1 ? parts : 1);
      if (parts < min_parts || !(mean >= min_mean_score)) continue;
      float *out_xy = keypoints + num_people * num_keypoints * 2;
      float *out_scores = keypoint_scores + num_people * num_keypoints;
      for (int64_t j = 0; j < num_keypoints; ++j) {
        const int64_t k = row[j];
        out_xy[2 * j] = k >= 0 ? xy[2 * k] : 0.0f;
        out_xy[2 * j + 1] = k >= 0 ? xy[2 * k + 1] : 0.0f;
        out_scores[j] = k >= 0 ? peak_scores[k] : 0.0f;
      }
      instance_scores[num_people++] = (float)mean;
    }
  }

done:
  free(first);
  free(pair_limb);
  free(pair_a);
  free(pair_b);
  free(scores);
  free(order);
  free(taken);
  free(used_a);
  free(used_b);
  free(person);
  free(root);
  free(joined);
  free(has_joint);
  free(people);
  free(peak_totals);
  free(limb_totals);
  return num_people;
}
