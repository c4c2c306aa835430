// gdino_weights_test.c — Grounding DINO's config reader and spec table. The inventories in
// testdata/gdino/inventory_tiny_*.txt (tools/golden_gdino_inventory.py: transformers builds
// GroundingDinoForObjectDetection from grounding-dino-tiny's real config on the meta device) must
// bind exactly — every name at its shape, nothing missing, nothing left over — from the spec table
// that the real config (../shared/data/hf, skipped when absent) implies, under both spellings.
#include "test/test.h"
#include "models/gdino_weights.h"
#include "base/check.h"
#include "base/json.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GDINO_CONFIG "../shared/data/hf/IDEA-Research__grounding-dino-tiny/config.json"

static bool real_config(GdinoConfig *c) {
    if (access(GDINO_CONFIG, F_OK) != 0) { test_skip("../shared/data/hf is absent"); return false; }
    LpoiErr err = {{0}};
    bool ok = gdino_config_load(c, GDINO_CONFIG, &err);
    EXPECT_MSG(ok, "%s", err.msg);
    return ok;
}

TEST(gdino_config_real_tiny) {
    GdinoConfig c;
    if (!real_config(&c)) return;
    EXPECT_EQ_INT(c.d_model, 256);
    EXPECT_EQ_INT(c.swin_dim, 96);
    EXPECT(c.n_stages == 4 && c.depth[2] == 6 && c.swin_heads[3] == 24 && c.window == 7 && c.patch == 4);
    EXPECT(c.n_outs == 3 && c.out_stage[0] == 2 && c.out_stage[2] == 4);
    EXPECT(c.text_hidden == 768 && c.text_layers == 12 && c.text_vocab == 30522 && c.text_eps == 1e-12f);
    EXPECT(c.enc_layers == 6 && c.dec_layers == 6 && c.enc_ffn == 2048 && c.levels == 4 && c.num_queries == 900);
    EXPECT(c.max_text_len == 256 && c.decoder_bbox_embed_share && !c.two_stage_bbox_embed_share && c.temperature == 20);
}

// ---- the inventories --------------------------------------------------------------------------------

typedef struct {
    StFile f;
    StTensor *t;
    char *text;
} Inventory;

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const StTensor *const *)a)->name, (*(const StTensor *const *)b)->name);
}

static void inv_index(Inventory *inv) {
    for (size_t i = 0; i < inv->f.count; i++) inv->f.by_name[i] = &inv->t[i];
    qsort(inv->f.by_name, inv->f.count, sizeof *inv->f.by_name, cmp_name);
}

// "name [d0,d1]" lines (# comments) → a header-only StFile of F32 tensors; room for `extra` more.
static bool inv_load(Inventory *inv, const char *file, size_t extra) {
    memset(inv, 0, sizeof *inv);
    char path[512];
    snprintf(path, sizeof path, "%s/gdino/%s", test_data_dir(), file);
    inv->text = test_read_text(path);
    EXPECT_MSG(inv->text, "%s: cannot read", path);
    if (!inv->text) return false;
    size_t lines = 0;
    for (const char *p = inv->text; *p; p++) lines += *p == '\n';
    inv->t = calloc_check(lines + extra, sizeof *inv->t);
    inv->f.tensors = inv->t;
    inv->f.by_name = calloc_check(lines + extra, sizeof *inv->f.by_name);
    for (char *line = strtok(inv->text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        if (!sp) continue;
        *sp = 0;
        StTensor *t = &inv->t[inv->f.count++];
        t->name = line;
        t->dtype = DTYPE_F32;
        t->numel = 1;
        for (char *d = sp + 2; *d && *d != ']';) {
            t->shape[t->ndim] = strtoull(d, &d, 10);
            t->numel *= t->shape[t->ndim++];
            if (*d == ',') d++;
        }
    }
    inv_index(inv);
    return true;
}

static void inv_free(Inventory *inv) {
    free(inv->t);
    free(inv->f.by_name);
    free(inv->text);
}

// Plans the spec table of c over inv; returns whether it is clean (msg: the one-line error).
static bool plan_over(const GdinoConfig *c, Inventory *inv, GdinoSpelling *sp, size_t *n_specs, char *msg, size_t cap) {
    WeightSource src = {.file = &inv->f, .prefix = "", .what = "inventory"};
    GdinoWeights w;
    gdino_weights_init(&w, c);
    WeightPlan plan = {0};
    *sp = gdino_detect_spelling(&src);
    gdino_weight_specs(c, *sp, &w, &plan.specs);
    *n_specs = plan.specs.n;
    bool ok = weights_plan(&plan, &src, &GDINO_WEIGHT_RULES);
    weights_errors_text(&plan.errors, msg, cap);
    weights_plan_free(&plan);
    gdino_weights_free(&w);
    return ok;
}

TEST(gdino_real_inventory_binds_both_spellings) {
    GdinoConfig c;
    if (!real_config(&c)) return;
    static const struct { const char *file; GdinoSpelling sp; } files[] = {
        {"inventory_tiny_saved.txt", GDINO_SWIN_SAVED}, {"inventory_tiny_v5.txt", GDINO_SWIN_V5}};
    for (size_t k = 0; k < 2; k++) {
        Inventory inv;
        if (!inv_load(&inv, files[k].file, 0)) return;
        EXPECT_EQ_INT(inv.f.count, 980);
        char msg[480];
        GdinoSpelling sp;
        size_t n;
        EXPECT_MSG(plan_over(&c, &inv, &sp, &n, msg, sizeof msg), "%s: %s", files[k].file, msg);
        EXPECT(sp == files[k].sp);
        EXPECT_EQ_INT(n, 978);   // + swin.layernorm.{weight,bias}, which transformers 5 adds and nothing uses
        inv_free(&inv);
    }
}

// The hub's file (converted with transformers 4.40): no swin.layernorm, but Swin's
// relative_position_index buffers (int64) — skipped; and a state_dict with the tied copies.
TEST(gdino_inventory_variants_and_damage) {
    GdinoConfig c;
    if (!real_config(&c)) return;
    Inventory inv;
    if (!inv_load(&inv, "inventory_tiny_saved.txt", 64)) return;
    size_t kept = 0;
    for (size_t i = 0; i < inv.f.count; i++)
        if (!strstr(inv.t[i].name, ".swin.layernorm.")) inv.t[kept++] = inv.t[i];
    inv.f.count = kept;
    static char idx_names[12][160];
    int b = 0;
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < c.depth[s]; k++, b++) {
            snprintf(idx_names[b], sizeof idx_names[b], "model.backbone.conv_encoder.model.encoder.layers.%d.blocks.%d."
                     "attention.self.relative_position_index", s, k);
            inv.t[inv.f.count++] = (StTensor){.name = idx_names[b], .dtype = DTYPE_I64, .ndim = 1, .shape = {2401}, .numel = 2401};
        }
    static const char *const tied[] = {"model.decoder.bbox_embed.0.layers.0.weight", "bbox_embed.3.layers.2.bias"};
    for (size_t i = 0; i < 2; i++) inv.t[inv.f.count++] = (StTensor){.name = (char *)tied[i], .dtype = DTYPE_F32, .ndim = 1, .shape = {4}, .numel = 4};
    inv_index(&inv);
    char msg[480];
    GdinoSpelling sp;
    size_t n;
    EXPECT_MSG(plan_over(&c, &inv, &sp, &n, msg, sizeof msg), "%s", msg);
    EXPECT(sp == GDINO_SWIN_SAVED);
    // Damage: one shape off, one name gone — one line listing both.
    StTensor *qk = (StTensor *)st_find(&inv.f, "model.encoder.layers.3.fusion_layer.attn.text_proj.weight");
    EXPECT(qk != NULL);
    if (qk) qk->shape[0] += 1;
    StTensor *gone = (StTensor *)st_find(&inv.f, "model.level_embed");
    EXPECT(gone != NULL);
    if (gone) gone->name = "model.level_embeds";
    inv_index(&inv);
    EXPECT(!plan_over(&c, &inv, &sp, &n, msg, sizeof msg));
    EXPECT_MSG(strstr(msg, "1 missing (model.level_embed)") && strstr(msg, "1 unexpected (model.level_embeds)") &&
               strstr(msg, "1 mis-shaped") && strstr(msg, "text_proj.weight") && !strchr(msg, '\n'), "%s", msg);
    inv_free(&inv);
}

// A DETR checkpoint under a Grounding DINO config: one line, names missing and unexpected.
TEST(gdino_other_detector_checkpoint_refused) {
    GdinoConfig c;
    if (!real_config(&c)) return;
    StTensor t[3] = {
        {.name = "model.backbone.conv_encoder.model.conv1.weight", .dtype = DTYPE_F32, .ndim = 4, .shape = {64, 3, 7, 7}, .numel = 9408},
        {.name = "class_labels_classifier.weight", .dtype = DTYPE_F32, .ndim = 2, .shape = {92, 256}, .numel = 23552},
        {.name = "model.query_position_embeddings.weight", .dtype = DTYPE_F32, .ndim = 2, .shape = {100, 256}, .numel = 25600},
    };
    const StTensor *by[3] = {&t[1], &t[0], &t[2]};
    Inventory inv = {.f = {.tensors = t, .count = 3, .by_name = by}};
    char msg[480];
    GdinoSpelling sp;
    size_t n;
    EXPECT(!plan_over(&c, &inv, &sp, &n, msg, sizeof msg));
    EXPECT_MSG(strstr(msg, "977 missing") && strstr(msg, "2 unexpected") && strstr(msg, "1 mis-shaped") && !strchr(msg, '\n'), "%s", msg);
}

// ---- the config reader's refusals ---------------------------------------------------------------------

static bool parse_text(const char *json, GdinoConfig *c, LpoiErr *err) {
    JsonDoc *d = json_parse(json, strlen(json), err);
    if (!d) return false;
    bool ok = gdino_config_parse(c, json_root(d), "config.json", err);
    json_free(d);
    return ok;
}

TEST(gdino_config_refusals) {
    static const struct { const char *json, *needle; } cases[] = {
        {"{\"model_type\": \"detr\"}", "model_type \"detr\" is not Grounding DINO"},
        {"{\"model_type\": \"owlv2\"}", "not Grounding DINO"},
        {"{}", "model_type \"(missing)\""},
        {"{\"model_type\": \"grounding-dino\", \"architectures\": [\"GroundingDinoModel\"]}", "GroundingDinoModel"},
        {"{\"model_type\": \"grounding-dino\", \"position_embedding_type\": \"learned\"}", "\"learned\" is not supported"},
        {"{\"model_type\": \"grounding-dino\", \"two_stage\": false}", "two_stage"},
        {"{\"model_type\": \"grounding-dino\", \"activation_function\": \"gelu\"}", "activation_function"},
        {"{\"model_type\": \"grounding-dino\", \"use_timm_backbone\": true}", "use_timm_backbone"},
        {"{\"model_type\": \"grounding-dino\", \"backbone\": \"swin_tiny\"}", "\"backbone\""},
        {"{\"model_type\": \"grounding-dino\", \"d_model\": 250}", "must split"},
        {"{\"model_type\": \"grounding-dino\", \"d_model\": \"256\"}", "\"d_model\" must be an integer"},
        {"{\"model_type\": \"grounding-dino\", \"num_feature_levels\": 2}", "below the 3 backbone outputs"},
        {"{\"model_type\": \"grounding-dino\", \"max_text_len\": 300}", "\"max_text_len\" must be an integer in [3, 256]"},
        {"{\"model_type\": \"grounding-dino\", \"two_stage_bbox_embed_share\": true, \"decoder_bbox_embed_share\": false}", "needs"},
        {"{\"model_type\": \"grounding-dino\", \"backbone_config\": {\"model_type\": \"resnet\"}}", "backbone_config: \"model_type\": \"resnet\""},
        {"{\"model_type\": \"grounding-dino\", \"backbone_config\": {\"model_type\": \"swin\", \"depths\": [2, 2], \"out_indices\": [1, 2], \"num_heads\": [3]}}", "same length"},
        {"{\"model_type\": \"grounding-dino\", \"backbone_config\": {\"model_type\": \"swin\", \"out_indices\": [2, 3], \"out_features\": [\"stage2\", \"stage4\"]}}", "different stages"},
        {"{\"model_type\": \"grounding-dino\", \"backbone_config\": {\"model_type\": \"swin\", \"out_indices\": [5]}}", "\"out_indices\"[0]"},
        {"{\"model_type\": \"grounding-dino\", \"backbone_config\": {\"model_type\": \"swin\", \"out_indices\": [2,3,4], \"use_absolute_embeddings\": true}}", "use_absolute_embeddings"},
        {"{\"model_type\": \"grounding-dino\", \"text_config\": {\"model_type\": \"roberta\"}}", "text_config: \"model_type\": \"roberta\""},
        {"{\"model_type\": \"grounding-dino\", \"text_config\": {\"model_type\": \"bert\", \"position_embedding_type\": \"relative_key\"}}", "relative_key"},
        {"{\"model_type\": \"grounding-dino\", \"text_config\": {\"model_type\": \"bert\", \"max_position_embeddings\": 100}}", "exceeds"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        GdinoConfig c;
        LpoiErr err = {{0}};
        EXPECT_MSG(!parse_text(cases[i].json, &c, &err) && strstr(err.msg, cases[i].needle) && !strncmp(err.msg, "config.json", 11) &&
                   !strchr(err.msg, '\n'), "case %zu: got \"%s\", want \"%s\"", i, err.msg, cases[i].needle);
    }
    // The minimal config is HF's defaults (grounding-dino-tiny's shapes).
    GdinoConfig c;
    LpoiErr err = {{0}};
    EXPECT_MSG(parse_text("{\"model_type\": \"grounding-dino\"}", &c, &err), "%s", err.msg);
    EXPECT(c.n_outs == 3 && c.out_stage[0] == 2 && c.swin_dim == 96 && c.text_hidden == 768 && c.num_queries == 900);
    // A backbone_config without out_indices/out_features: SwinConfig's default, the last stage (as HF).
    EXPECT_MSG(parse_text("{\"model_type\": \"grounding-dino\", \"backbone_config\": {\"model_type\": \"swin\", \"depths\": [2, 2],"
                          " \"num_heads\": [3, 6]}}", &c, &err), "%s", err.msg);
    EXPECT(c.n_outs == 1 && c.out_stage[0] == 2);
}

// A small config binds a spec table of the right size and the unshared heads appear per layer.
TEST(gdino_specs_follow_the_config) {
    GdinoConfig c;
    LpoiErr err = {{0}};
    EXPECT_MSG(parse_text("{\"model_type\": \"grounding-dino\", \"d_model\": 32, \"encoder_layers\": 1, \"decoder_layers\": 2,"
                          " \"encoder_ffn_dim\": 16, \"decoder_ffn_dim\": 24, \"num_queries\": 5, \"num_feature_levels\": 2,"
                          " \"decoder_bbox_embed_share\": false, \"encoder_attention_heads\": 4, \"decoder_attention_heads\": 2,"
                          " \"backbone_config\": {\"model_type\": \"swin\", \"embed_dim\": 8, \"depths\": [1, 1],"
                          " \"num_heads\": [2, 2], \"window_size\": 3, \"out_indices\": [2]},"
                          " \"text_config\": {\"model_type\": \"bert\", \"hidden_size\": 12, \"num_hidden_layers\": 1,"
                          " \"num_attention_heads\": 3, \"intermediate_size\": 20, \"vocab_size\": 40}}", &c, &err), "%s", err.msg);
    GdinoWeights w;
    gdino_weights_init(&w, &c);
    WeightSpecs s = {0};
    gdino_weight_specs(&c, GDINO_SWIN_SAVED, &w, &s);
    bool saw_head1 = false, saw_extra_level = false, saw_table = false;
    for (size_t i = 0; i < s.n; i++) {
        const WeightSpec *x = &s.v[i];
        if (!strcmp(x->name, "bbox_embed.1.layers.2.weight")) saw_head1 = x->shape[0] == 4 && x->shape[1] == 32;
        if (!strcmp(x->name, "model.input_proj_vision.1.0.weight"))   // the extra level: 3×3 from stage 2's 16 channels
            saw_extra_level = x->ndim == 4 && x->shape[0] == 32 && x->shape[1] == 16 && x->shape[2] == 3;
        if (strstr(x->name, "layers.1.blocks.0.attention.self.relative_position_bias_table"))
            saw_table = x->shape[0] == 25 && x->shape[1] == 2;
    }
    EXPECT(saw_head1 && saw_extra_level && saw_table);
    specs_free(&s);
    gdino_weights_free(&w);
}

// ---- a checkpoint folder: config.json + model.safetensors ------------------------------------------

#define TINY_CONFIG "{\"model_type\": \"grounding-dino\", \"d_model\": 32, \"encoder_layers\": 1, \"decoder_layers\": 2," \
    " \"encoder_ffn_dim\": 16, \"decoder_ffn_dim\": 24, \"num_queries\": 5, \"num_feature_levels\": 2," \
    " \"encoder_attention_heads\": 4, \"decoder_attention_heads\": 2," \
    " \"backbone_config\": {\"model_type\": \"swin\", \"embed_dim\": 8, \"depths\": [1, 1], \"num_heads\": [2, 2]," \
    " \"window_size\": 3, \"out_indices\": [2]}, \"text_config\": {\"model_type\": \"bert\", \"hidden_size\": 12," \
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 3, \"intermediate_size\": 20, \"vocab_size\": 40}}"

// Writes dir/config.json and dir/model.safetensors with every tensor the config implies (value: its
// spec index), leaving out the spec named `drop` (NULL: none).
static void write_tiny(const char *dir, const char *config, const char *drop) {
    EXPECT(test_write_text(test_path(dir, "config.json"), config));
    GdinoConfig c;
    LpoiErr err = {{0}};
    EXPECT_MSG(parse_text(TINY_CONFIG, &c, &err), "%s", err.msg);
    GdinoWeights w;
    gdino_weights_init(&w, &c);
    WeightSpecs s = {0};
    gdino_weight_specs(&c, GDINO_SWIN_SAVED, &w, &s);
    StWriter *wr = st_writer_new();
    float **data = calloc_check(s.n, sizeof *data);
    for (size_t i = 0; i < s.n; i++) {
        if (drop && !strcmp(s.v[i].name, drop)) continue;
        uint64_t shape[WEIGHT_MAX_DIMS], n = 1;
        for (int d = 0; d < s.v[i].ndim; d++) n *= shape[d] = (uint64_t)s.v[i].shape[d];
        data[i] = malloc_check(n * sizeof(float));
        for (uint64_t k = 0; k < n; k++) data[i][k] = (float)i;
        st_writer_add_f32(wr, s.v[i].name, s.v[i].ndim, shape, data[i]);
    }
    EXPECT_MSG(st_writer_write(wr, test_path(dir, "model.safetensors"), &err), "%s", err.msg);
    st_writer_free(wr);
    for (size_t i = 0; i < s.n; i++) free(data[i]);
    free(data);
    specs_free(&s);
    gdino_weights_free(&w);
}

TEST(gdino_checkpoint_open_binds_and_refuses) {
    char dir[256];
    test_tmp_dir(dir, sizeof dir, "gdino");
    Backend *be = backend_cpu_create();
    LpoiErr err = {{0}};
    GdinoCheckpoint ck;
    write_tiny(dir, TINY_CONFIG, NULL);
    EXPECT_MSG(gdino_checkpoint_open(&ck, be, dir, &err), "%s", err.msg);
    if (ck.mem) {
        EXPECT(ck.w.swin.patch.w && ck.w.dec[1].cross.output_proj.b && ck.w.bbox_embed[0].l[2].w && ck.w.bert.word);
        EXPECT(ck.w.swin.patch.w[0] == 0.0f && ck.w.swin.patch.b[0] == 1.0f);   // spec order 0, 1: the patch conv
        gdino_checkpoint_free(&ck);
    }
    // a tensor gone: one line naming it and the folder, nothing uploaded
    write_tiny(dir, TINY_CONFIG, "model.decoder.layers.1.fc2.bias");
    EXPECT(!gdino_checkpoint_open(&ck, be, dir, &err));
    EXPECT_MSG(strstr(err.msg, dir) && strstr(err.msg, "1 missing (model.decoder.layers.1.fc2.bias)") && !strchr(err.msg, '\n'), "%s", err.msg);
    // another detector's checkpoint: refused by its config, in one line
    write_tiny(dir, "{\"model_type\": \"detr\", \"architectures\": [\"DetrForObjectDetection\"]}", NULL);
    EXPECT(!gdino_checkpoint_open(&ck, be, dir, &err));
    EXPECT_MSG(strstr(err.msg, "config.json") && strstr(err.msg, "\"detr\" is not Grounding DINO") && !strchr(err.msg, '\n'), "%s", err.msg);
    unlink(test_path(dir, "config.json"));
    unlink(test_path(dir, "model.safetensors"));
    rmdir(dir);
    backend_destroy(be);
}
