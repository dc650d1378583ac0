"""Go's text/template as `docker inspect -f` evaluates it (cli/gotemplate.py): the forms in Docker's
docs and in the questions people ask, and Go's errors for the rest."""

import pytest

from minicontainer.cli.gotemplate import TemplateError, render

OBJ = {"Name": "/web", "State": {"Pid": 42, "Running": True, "Error": ""},
       "Config": {"Env": ["A=1", "B=2"], "Labels": {}},
       "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "81/tcp": None},
                           "Networks": {"lab": {"IPAddress": "10.0.0.2"}, "bridge": {"IPAddress": "172.17.0.2"}}},
       "Mounts": [{"Type": "bind", "Source": "/a<b>&c"}]}

CASES = [
    ("{{.State.Pid}} {{.State.Running}} {{.Name}}", "42 true /web"),
    ('{{index .NetworkSettings.Ports "80/tcp" 0 "HostPort"}}', "8080"),                # index with several keys
    ('{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', "8080"),         # parenthesised pipelines
    ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "172.17.0.2 10.0.0.2 "),  # maps in key order
    ("{{range $net, $ep := .NetworkSettings.Networks}}{{$net}}={{$ep.IPAddress}};{{end}}", "bridge=172.17.0.2;lab=10.0.0.2;"),
    ("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 "),
    ("{{range .Config.Labels}}x{{else}}none{{end}}", "none"),
    ("{{json .Mounts}}", '[{"Type":"bind","Source":"/a\\u003cb\\u003e\\u0026c"}]'),   # json.Marshal, HTML-safe
    ('{{.Name | printf "%q"}}', '"/web"'),
    ('{{printf "%s has %d" .Name .State.Pid}}', "/web has 42"),
    ("{{len .NetworkSettings.Networks}} {{len .Config.Env}}", "2 2"),
    ("{{if eq .State.Pid 42}}yes{{else}}no{{end}}", "yes"),
    ("{{if .State.Error}}a{{else if .State.Running}}b{{else}}c{{end}}", "b"),
    ("{{if and .State.Running (gt .State.Pid 1)}}up{{end}}", "up"),
    ("{{if or .State.Error (not .State.Running)}}x{{else}}y{{end}}", "y"),
    ("{{with .State}}{{.Pid}}{{end}}{{with .State.Error}}never{{else}}-{{end}}", "42-"),
    ('{{join .Config.Env ","}} {{upper "x"}} {{lower "Y"}} {{index (split "a:b" ":") 1}}', "A=1,B=2 X y b"),
    ("{{$p := .State.Pid}}{{$p}} {{$.Name}}", "42 /web"),
    ("a {{- /* a comment */ -}} b\n{{- .Name}}", "ab/web"),
    ("{{.State}} {{.Config.Env}} {{index .NetworkSettings.Ports \"81/tcp\"}}", "map[Error: Pid:42 Running:true] [A=1 B=2] <no value>"),
    ("{{eq .Name \"/db\" \"/web\"}}", "true"),
]


@pytest.mark.parametrize("template,expected", CASES)
def test_template(template, expected):
    assert render(template, OBJ) == expected


@pytest.mark.parametrize("template,error", [
    ("{{.Nope}}", 'map has no entry for key "Nope"'),
    ("{{.State.Pid.X}}", "can't evaluate field X"),
    ("{{foo .Name}}", 'function "foo" not defined'),
    ("{{if .State}}x", "unexpected EOF"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{$nope}}", r"undefined variable \"\$nope\""),
])
def test_template_errors(template, error):
    with pytest.raises(TemplateError, match=error):
        render(template, OBJ)
