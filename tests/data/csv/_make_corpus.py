"""Writes the CSV corpus: NAME.csv (exact bytes) + NAME.json (options and the expected
Table or error).  Run from this directory; the outputs are committed, this script
documents how the tricky bytes were made."""
import json

CASES = {}


def case(name, raw, expect, **options):
    CASES[name] = (raw, dict(options=options, **expect))


def table(schema, data):
    return {"schema": schema, "data": data}


def error(line, column, match, cls="ParseError"):
    return {"error": {"class": cls, "line": line, "column": column, "match": match}}


# ---------------------------------------------------------------- well-formed
case("basic_inference",
     b"id,amount,flag,filed,district,score\n1,2.5,true,2020-01-02,N.D. Tex.,-3\n2,,false,,S.D.N.Y.,7\n3,1e3,TRUE,2019-12-31,,0\n",
     table({"id": "int64", "amount": "float64", "flag": "bool", "filed": "date", "district": "category", "score": "int64"},
           {"id": [1, 2, 3], "amount": [2.5, None, 1000.0], "flag": [True, False, True],
            "filed": ["2020-01-02", None, "2019-12-31"], "district": ["N.D. Tex.", "S.D.N.Y.", None], "score": [-3, 7, 0]}))
case("quoted_fields",
     b'case_id,summary,n\nc1,"recruited online, via ""Facebook""",1\nc2,"two\nlines",2\nc3,"crlf\r\ninside",3\nc4,"",4\nc5,plain,5\n',
     table({"case_id": "category", "summary": "category", "n": "int64"},
           {"case_id": ["c1", "c2", "c3", "c4", "c5"],
            "summary": ['recruited online, via "Facebook"', "two\nlines", "crlf\r\ninside", "", "plain"],
            "n": [1, 2, 3, 4, 5]}))
case("crlf_endings", b"a,b\r\n1,x\r\n2,y\r\n",
     table({"a": "int64", "b": "category"}, {"a": [1, 2], "b": ["x", "y"]}))
case("cr_endings_old_mac", b"a,b\r1,x\r2,\"y\rz\"\r3,w",
     table({"a": "int64", "b": "category"}, {"a": [1, 2, 3], "b": ["x", "y\rz", "w"]}))
case("utf8_bom", b"\xef\xbb\xbfstate,victims\nTX,3\nCA,4\n",
     table({"state": "category", "victims": "int64"}, {"state": ["TX", "CA"], "victims": [3, 4]}))
case("na_sentinels", b"age,gender\n15,female\n-99,NA\nNA,male\n17,\n",
     table({"age": "int64", "gender": "category"}, {"age": [15, None, None, 17], "gender": ["female", None, "male", None]}),
     na_values=["", "NA", "-99"])
case("us_dates_two_digit_year", b"filed,closed\n7/1/15,2016-01-31\n12/31/99,\n1/2/68,7/4/20\n",
     table({"filed": "date", "closed": "date"},
           {"filed": ["2015-07-01", "1999-12-31", "2068-01-02"], "closed": ["2016-01-31", None, "2020-07-04"]}),
     date_format="%m/%d/%y")
case("us_dates_four_digit_year", b"filed\n07/01/2015\n2/29/2016\n",
     table({"filed": "date"}, {"filed": ["2015-07-01", "2016-02-29"]}), date_format="%m/%d/%Y")
case("list_platforms", b'victim_id,platforms\nv1,facebook;instagram\nv2,\nv3,""\nv4,snapchat\n',
     table({"victim_id": "category", "platforms": "list<category>"},
           {"victim_id": ["v1", "v2", "v3", "v4"], "platforms": [["facebook", "instagram"], None, [], ["snapchat"]]}),
     schema={"platforms": "list<category>"}, list_sep=";")
case("header_only", b"a,b,c\n",
     table({"a": "int32", "b": "string", "c": "category"}, {"a": [], "b": [], "c": []}),
     schema={"a": "int32", "b": "string"})
case("empty_string_vs_null", b'name,note\n"",x\n,y\n"NA",z\nNA,w\n',
     table({"name": "string", "note": "category"}, {"name": ["", None, "NA", None], "note": ["x", "y", "z", "w"]}),
     schema={"name": "string"})
case("no_trailing_newline", b"a,b\n1,2\n3,4",
     table({"a": "int64", "b": "int64"}, {"a": [1, 3], "b": [2, 4]}))
case("blank_lines_skipped", b"a,b\n\n1,2\n\n\n3,4\n\n",
     table({"a": "int64", "b": "int64"}, {"a": [1, 3], "b": [2, 4]}))
case("one_column_blank_is_null", b"x\n1\n\n3\n",
     table({"x": "int64"}, {"x": [1, None, 3]}))
case("usecols_keeps_file_order", b"a,b,c\n1,x,2.5\n2,y,3.5\n",
     table({"a": "int64", "c": "float64"}, {"a": [1, 2], "c": [2.5, 3.5]}), usecols=["c", "a"])
case("no_header_schema_names", b"1,sex\n2,labor\n",
     table({"id": "int32", "case_type": "category"}, {"id": [1, 2], "case_type": ["sex", "labor"]}),
     header=False, schema={"id": "int32", "case_type": "category"})
case("no_header_generated_names", b"1,sex\n2,labor\n",
     table({"column_0": "int64", "column_1": "category"}, {"column_0": [1, 2], "column_1": ["sex", "labor"]}),
     header=False)
case("non_ascii_text", "name,city\nJosé,São Paulo\n李,北京\nZoë,\"Köln, DE\"\n".encode(),
     table({"name": "category", "city": "category"},
           {"name": ["José", "李", "Zoë"], "city": ["São Paulo", "北京", "Köln, DE"]}))
case("int_overflow_infers_float", b"big\n1\n99999999999999999999\n",
     table({"big": "float64"}, {"big": [1.0, 99999999999999999999.0]}))
case("exact_floats", b"x\n0.1\n0.30000000000000004\n2.2250738585072014e-308\n1.7976931348623157e308\n5e-324\n123456789012345678901234567890\n-0.0\n.5\n1.\n",
     table({"x": "float64"}, {"x": [0.1, 0.30000000000000004, 2.2250738585072014e-308, 1.7976931348623157e308,
                                   5e-324, 123456789012345678901234567890.0, -0.0, 0.5, 1.0]}))
case("special_floats_in_schema", b"x\nnan\ninf\n-Infinity\n1.5\n",
     table({"x": "float64"}, {"x": ["nan", "inf", "-inf", 1.5]}), schema={"x": "float64"})
case("late_type_change_rereads", b"code,n\n" + b"".join(b"%d,%d\n" % (i, i) for i in range(200)) + b"A7,200\n",
     table({"code": "category", "n": "int64"},
           {"code": [str(i) for i in range(200)] + ["A7"], "n": list(range(201))}), chunk_size=64)
case("int_then_float_widens_in_place", b"v\n" + b"".join(b"%d\n" % i for i in range(100)) + b"0.5\n",
     table({"v": "float64"}, {"v": [float(i) for i in range(100)] + [0.5]}), chunk_size=32)
case("latin1_encoding", "name\nJosé\nMüller\n".encode("latin-1"),
     table({"name": "category"}, {"name": ["José", "Müller"]}), encoding="latin-1")
case("quote_inside_unquoted_field_is_literal", b'height,name\n5\'10",a"b\n',
     table({"height": "category", "name": "category"}, {"height": ["5'10\""], "name": ['a"b']}))
case("semicolon_delimiter", b"a;b\n1;x,y\n",
     table({"a": "int64", "b": "category"}, {"a": [1], "b": ["x,y"]}), delimiter=";")
case("all_null_column", b"a,b\n1,\n2,NA\n",
     table({"a": "int64", "b": "category"}, {"a": [1, 2], "b": [None, None]}))
case("bool_schema_custom_values", b"minor\nyes\nno\n\n",
     table({"minor": "bool"}, {"minor": [True, False, None]}),
     schema={"minor": "bool"}, true_values=["yes"], false_values=["no"])

case("list_inferred_with_list_sep", b"victim_id,platforms\nv1,facebook;instagram\nv2,\nv3,snapchat\n",
     table({"victim_id": "category", "platforms": "list<category>"},
           {"victim_id": ["v1", "v2", "v3"], "platforms": [["facebook", "instagram"], None, ["snapchat"]]}),
     list_sep=";")
case("list_inferred_late_rereads_twice",
     b"p\n" + b"".join(b"%d\n" % i for i in range(60)) + b"web\n" + b"".join(b"%d\n" % i for i in range(60)) + b"ig;fb\n",
     table({"p": "list<category>"},
           {"p": [[str(i)] for i in range(60)] + [["web"]] + [[str(i)] for i in range(60)] + [["ig", "fb"]]}),
     list_sep=";", chunk_size=48)
case("no_list_sep_means_no_lists", b"p\nfacebook;instagram\n",
     table({"p": "category"}, {"p": ["facebook;instagram"]}))

# ---------------------------------------------------------------- malformed
case("too_many_fields", b"a,b,c\n1,2,3\n4,5,6,7\n", error(3, None, "expected 3 fields, saw 4"))
case("too_few_fields", b"a,b,c\n1,2,3\n\"x\ny\",5\n", error(3, None, "expected 3 fields, saw 2"))
case("unterminated_quote", b"a,b\n1,x\n2,y\n3,\"never\nclosed\n4,z\n", error(4, "b", "unterminated quoted field"))
case("bad_int", b"case_id,age\nc1,12\nc2,12x\n", error(3, "age", "expected int64, got '12x'"), schema={"age": "int64"})
case("int64_overflow", b"n\n9223372036854775807\n9223372036854775808\n", error(3, "n", "integer out of range for int64"),
     schema={"n": "int64"})
case("int32_overflow", b"n\n2147483648\n", error(2, "n", "integer out of range for int32"), schema={"n": "int32"})
case("bad_date", b"d\n2020-02-30\n", error(2, "d", "expected a date"), schema={"d": "date"})
case("bad_bool", b"b\ntrue\nmaybe\n", error(3, "b", "expected bool, got 'maybe'"), schema={"b": "bool"})
case("bad_float", b"x\n1.5\n1,5\n", error(3, None, "expected 1 fields, saw 2"))
case("bad_float_quoted", b'x\n1.5\n"1,5"\n', error(3, "x", "expected float64, got '1,5'"), schema={"x": "float64"})
case("invalid_utf8", b"name,n\nok,1\n\"multi\nline\",2\nbad\xff\xfe,3\n", error(5, "name", "invalid UTF-8 at byte offset 30"))
case("invalid_utf8_in_quoted_second_line", b"name\n\"first\nsec\xc3ond\"\n", error(3, "name", "invalid UTF-8 at byte offset 15"))
case("field_too_long", b"a,b\n1,short\n2," + b"x" * 40 + b"\n", error(3, "b", "field longer than max_field_size (16 bytes)"),
     max_field_size=16)
case("empty_file", b"", error(1, None, "empty file"))
case("only_blank_lines", b"\n\n", error(1, None, "empty file"))
case("duplicate_names", b"a,b,a\n1,2,3\n", error(1, "a", "duplicate column name"))
case("usecols_not_in_header", b"a,b\n1,2\n", error(1, "z", "usecols names a column that is not in the header"), usecols=["a", "z"])
case("schema_not_in_header", b"a,b\n1,2\n", error(1, "q", "schema names a column that is not in the header"), schema={"q": "int64"})
case("text_after_closing_quote", b'a,b\n"x"y,2\n', error(2, "a", "after the closing quote"))

if __name__ == "__main__":
    for name, (raw, spec) in CASES.items():
        with open(f"{name}.csv", "wb") as f:
            f.write(raw)
        with open(f"{name}.json", "w") as f:
            json.dump(spec, f, indent=1, ensure_ascii=False)
            f.write("\n")
    print(len(CASES), "cases")
