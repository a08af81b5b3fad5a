package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The OpenAI-style model list as {@link ModelList} reads it, and the pages it rejects. */
class ModelListTest {
    /** A list as vLLM writes it, with a LoRA adapter whose parent is the base model. */
    private static final String VLLM = """
            {"object":"list","data":[
              {"id":"meta-llama/Llama-3.1-8B","object":"model","created":1733000000,"owned_by":"vllm",
               "root":"meta-llama/Llama-3.1-8B","parent":null,"max_model_len":8192,
               "permission":[{"id":"modelperm-1","object":"model_permission","allow_sampling":true,
                              "group":null,"is_blocking":false}]},
              {"id":"sql-v2","object":"model","created":1733000000,"owned_by":"vllm",
               "root":"/adapters/sql-v2","parent":"meta-llama/Llama-3.1-8B","permission":[]}
            ]}
            """;

    @Test
    void aVllmListGivesEachModelAndItsParent() {
        assertThat(ModelList.parse(VLLM)).containsExactly(
                new ModelList.Entry("meta-llama/Llama-3.1-8B", null),
                new ModelList.Entry("sql-v2", "meta-llama/Llama-3.1-8B"));
    }

    @Test
    void membersInAnyOrderEscapesAndAnEmptyListAreRead() {
        assertThat(ModelList.parse("{\"data\":[{\"parent\":null,\"id\":\"a\\u00e9\\\"b\\\\\"}],\"object\":\"list\"}"))
                .containsExactly(new ModelList.Entry("a\u00e9\"b\\", null));
        assertThat(ModelList.parse(" {\"object\" : \"list\", \"data\" : [ ] } \n")).isEmpty();
        assertThat(ModelList.parse("{\"data\":[{\"id\":\"m\",\"x\":[1,-2.5e3,true,false,null,{\"y\":{}}]}]}"))
                .containsExactly(new ModelList.Entry("m", null));
    }

    @Test
    void pagesThatAreNotModelListsAreRejectedWithTheReasonAndWhere() {
        assertRejected("", "model list: the end of the page at character 0 (expected: a JSON object)");
        assertRejected("<html>", "model list: '<' at character 0 (expected: a JSON object)");
        assertRejected("{\"object\":\"list\"}", "model list: no \"data\" array");
        assertRejected("{\"data\":{}}", "model list: '{' at character 8 (expected: the \"data\" array)");
        assertRejected("{\"data\":[\"llama\"]}", "model list: '\"' at character 9 (expected: a model object)");
        assertRejected("{\"data\":[{\"object\":\"model\"}]}",
                "model list: '{' at character 9 (expected: an \"id\" in each model)");
        assertRejected("{\"data\":[{\"id\":7}]}", "model list: '7' at character 15 (expected: \"id\" as a string)");
        assertRejected("{\"data\":[{\"id\":\"m\",\"parent\":1}]}",
                "model list: '1' at character 28 (expected: \"parent\" as a string or null)");
        assertRejected("{\"data\":[]} x", "model list: 'x' at character 12 (expected: the end of the page)");
        assertRejected("{\"data\":[],\"data\":[]}", "model list: '[' at character 18 (expected: \"data\" once)");
        assertRejected("{\"data\":[{\"id\":\"m\"}", "model list: the end of the page at character 19 "
                + "(expected: ',' or ']')");
        assertRejected("{\"data\":[{\"id\":\"a\nb\"}]}",
                "model list: '\\u000a' at character 17 (expected: no control character in a string)");
        assertRejected("{\"data\":[{\"id\":\"a\\qb\"}]}", "model list: 'q' at character 18 (expected: an escape)");
        assertRejected("{\"data\":[],\"n\":01}", "model list: '1' at character 16 (expected: ',' or '}')");
        assertRejected("{\"data\":[],\"n\":tru}", "model list: 't' at character 15 (expected: a value)");
    }

    @Test
    void deepNestingAndHugeListsAreRefused() {
        String deep = "{\"data\":[],\"x\":" + "[".repeat(40) + "]".repeat(40) + "}";
        assertThatThrownBy(() -> ModelList.parse(deep)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("(expected: at most 32 levels of nesting)");
        StringBuilder huge = new StringBuilder("{\"data\":[");
        for (int i = 0; i <= ModelList.MAX_ENTRIES; i++) {
            huge.append(i == 0 ? "" : ",").append("{\"id\":\"m").append(i).append("\"}");
        }
        huge.append("]}");
        assertThatThrownBy(() -> ModelList.parse(huge.toString()))
                .hasMessageContaining("(expected: at most 10000 models)");
        assertThat(ModelList.parse(huge.toString().replace(",{\"id\":\"m10000\"}", ""))).hasSize(ModelList.MAX_ENTRIES);
    }

    private static void assertRejected(String page, String message) {
        assertThatThrownBy(() -> ModelList.parse(page)).as(page).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
    }

    @Test
    void entriesKeepThePageOrder() {
        assertThat(ModelList.parse("{\"data\":[{\"id\":\"b\"},{\"id\":\"a\",\"parent\":\"b\"}]}"))
                .extracting(ModelList.Entry::id).isEqualTo(List.of("b", "a"));
    }
}
