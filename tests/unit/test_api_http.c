/* Unit tests for the control API server's HTTP: routes, JSON and text
 * answers, keep-alive and pipelining, 4xx and 5xx answers, 100-continue and
 * query strings, from a real server over real sockets (api_test.h). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "gw/api.h"
#include "api_test.h"

static json_int_t stat_get(const char *name)
{
	json_t *j = get_stats();
	json_int_t v = json_integer_value(json_object_get(j, name));

	json_decref(j);
	return v;
}

/* --- tests --------------------------------------------------------------- */

static void test_json_round_trip(void **state)
{
	struct server *s = server_start(NULL);
	const char *body = "{\"service\":\"web\",\"backend\":\"10.1.0.11:80\"}";
	struct client *c = client_new(sock_path);
	struct reply r;
	json_t *j;

	client_sendf(c,
		     "POST /echo?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     strlen(body), body);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(reply_has_header(&r, "Content-Type: application/json"));
	assert_true(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/echo");
	assert_string_equal(json_string_value(json_object_get(j, "query")), "x=1");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "body"), "backend")),
		"10.1.0.11:80");
	json_decref(j);
	reply_done(&r);

	/* Text answers keep their content type. */
	client_sendf(c, "GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(reply_has_header(&r, "Content-Type: text/plain; version=0.0.4"));
	assert_string_equal(r.body, "gw_up 1\n");
	reply_done(&r);
	client_free(c);
	server_stop(s);
}

static void test_keep_alive(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c = client_new(sock_path);
	struct reply r;

	client_sendf(c, "GET /hello HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_false(reply_has_header(&r, "Connection: close"));
	reply_done(&r);

	client_sendf(c, "GET /v1/services HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"services\":[]}\n");
	reply_done(&r);

	/* Pipelined: three requests in one write, three answers in order. */
	client_sendf(c, "GET /hello HTTP/1.1\r\nHost: gw\r\n\r\n"
			"POST /echo HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":1}"
			"GET /v1/services/db HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_string_equal(r.body, "{\"hello\":\"world\"}\n");
	reply_done(&r);
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"body\":{\"a\":1}"));
	reply_done(&r);
	assert_int_equal(client_reply(c, &r), 0);
	assert_string_equal(r.body, "{\"tail\":\"db\"}\n");
	reply_done(&r);

	/* Connection: close is honoured. */
	client_sendf(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_true(reply_has_header(&r, "Connection: close"));
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);

	/* HTTP/1.0 closes unless asked not to. */
	c = client_new(sock_path);
	client_sendf(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_true(reply_has_header(&r, "Connection: keep-alive"));
	reply_done(&r);
	client_sendf(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);
	server_stop(s);
}

static void test_not_found(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c = client_new(sock_path);
	struct reply r;
	json_t *j;

	client_sendf(c, "GET /v2/nothing HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 404);
	assert_true(reply_has_header(&r, "Content-Type: application/json"));
	j = reply_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "no API path \"/v2/nothing\"");
	json_decref(j);
	reply_done(&r);

	/* A prefix route needs something after the prefix. */
	client_sendf(c, "GET /v1/services/ HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 404);
	reply_done(&r);

	/* The connection survives a 404. */
	client_sendf(c, "GET /v1/services/a%%2Fb HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "{\"tail\":\"a/b\"}\n");
	reply_done(&r);

	/* Bad percent-encoding in the path. */
	client_sendf(c, "GET /v1/services/%%zz HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 400);
	reply_done(&r);
	client_sendf(c, "GET /v1/services/a%%00b HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 400);
	reply_done(&r);

	/* A handler that answers nothing yields 500. */
	client_sendf(c, "GET /noanswer HTTP/1.1\r\nHost: gw\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 500);
	reply_done(&r);
	client_free(c);
	server_stop(s);
}

static void test_method_not_allowed(void **state)
{
	struct server *s = server_start(NULL);
	struct reply r;
	json_t *j;

	assert_int_equal(
		request(sock_path, "POST /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &r), 405);
	assert_true(reply_has_header(&r, "Allow: GET"));
	j = reply_json(&r);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "POST"));
	json_decref(j);
	reply_done(&r);

	assert_int_equal(request(sock_path, "GET /echo HTTP/1.1\r\n\r\n", &r), 405);
	assert_true(reply_has_header(&r, "Allow: POST, PUT"));
	reply_done(&r);

	/* A POST without a JSON body is the handler's 400. */
	assert_int_equal(
		request(sock_path, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]", &r), 400);
	reply_done(&r);
	assert_int_equal(
		request(sock_path, "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\n{bad", &r),
		400);
	j = reply_json(&r);
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "invalid JSON"));
	json_decref(j);
	reply_done(&r);
	server_stop(s);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET /hello HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
		"GET /hello XTTP/1.1\r\n\r\n",
		"GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET /hello HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	};
	struct server *s = server_start(NULL);
	struct client *c;
	struct reply r;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = client_new(sock_path);
		client_send(c, bad[i], strlen(bad[i]));
		assert_int_equal(client_reply(c, &r), 0);
		if (r.status != 400)
			fail_msg("%s: status %d", bad[i], r.status);
		assert_true(reply_has_header(&r, "Connection: close"));
		j = reply_json(&r);
		assert_non_null(
			strstr(json_string_value(json_object_get(j, "error")), "malformed"));
		json_decref(j);
		reply_done(&r);
		assert_true(client_closed(c));
		client_free(c);
	}
	assert_true(stat_get("errors") >= (json_int_t)i);

	/* Well-formed, but not HTTP/1.x. */
	c = client_new(sock_path);
	client_sendf(c, "GET /hello HTTP/9.9\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 505);
	reply_done(&r);
	assert_true(client_closed(c));
	client_free(c);
	server_stop(s);
}

static void test_expect_continue(void **state)
{
	struct server *s = server_start(NULL);
	struct client *c = client_new(sock_path);
	struct reply r;

	client_sendf(c, "POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 100);
	reply_done(&r);
	client_sendf(c, "{\"a\":2}");
	assert_int_equal(client_reply(c, &r), 0);
	assert_int_equal(r.status, 200);
	reply_done(&r);
	client_free(c);
	server_stop(s);
}

static void test_query(void **state)
{
	struct gw_api_request req = {.query = "a=1&service=web%2Dv2&empty&sp=a+b&bad=%zz"};
	char buf[16], tiny[3];

	assert_int_equal(gw_api_query_get(&req, "service", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "web-v2");
	assert_int_equal(gw_api_query_get(&req, "a", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
	assert_int_equal(gw_api_query_get(&req, "empty", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(gw_api_query_get(&req, "sp", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a b");
	assert_int_equal(gw_api_query_get(&req, "bad", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(gw_api_query_get(&req, "nope", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(gw_api_query_get(&req, "service", tiny, sizeof(tiny)), -ENOSPC);
	req.query = "";
	assert_int_equal(gw_api_query_get(&req, "a", buf, sizeof(buf)), -ENOENT);
}

static void test_query_over_http(void **state)
{
	struct server *s = server_start(NULL);
	struct reply r;

	assert_int_equal(request(sock_path, "GET /query?service=db%2D1 HTTP/1.1\r\n\r\n", &r), 200);
	assert_string_equal(r.body, "{\"service\":\"db-1\"}\n");
	reply_done(&r);
	assert_int_equal(request(sock_path, "GET /query HTTP/1.1\r\n\r\n", &r), 400);
	reply_done(&r);
	server_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
		cmocka_unit_test(test_query),
		cmocka_unit_test_setup_teardown(test_query_over_http, setup, teardown),
	};

	/* As gatewayd must (see gw_api_new()). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
