# Writes a man page (troff) for neuralart-train from its own --help and each
# subcommand's --help, so the page never drifts from the program and the
# build needs no help2man. Run by trainer/CMakeLists.txt at build time:
#   cmake -DPROGRAM=path/to/neuralart-train -DOUTPUT=neuralart-train.1
#         -DVERSION=0.1.0 -P cmake/ManPage.cmake
foreach(var PROGRAM OUTPUT VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "ManPage.cmake: -D${var}=... is required")
  endif()
endforeach()
# An instrumented (ASan) trainer must not fail the build over leak reports.
if(NOT DEFINED ENV{ASAN_OPTIONS})
  set(ENV{ASAN_OPTIONS} "detect_leaks=0")
endif()

function(run_help out_var)
  execute_process(COMMAND "${PROGRAM}" ${ARGN} --help
    OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR out STREQUAL "")
    string(JOIN " " what ${ARGN})
    message(FATAL_ERROR "'${PROGRAM} ${what} --help' failed (${rc}): ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# Text as it was printed, in a no-fill block: backslashes, leading dots and
# quotes and hyphens escaped for troff.
function(troff_verbatim out_var text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(PREPEND text "\n")
  string(REPLACE "\n." "\n\\&." text "${text}")
  string(REPLACE "\n'" "\n\\&'" text "${text}")
  string(SUBSTRING "${text}" 1 -1 text)
  string(REGEX REPLACE "\n+$" "" text "${text}")
  set(${out_var} ".nf\n${text}\n.fi\n" PARENT_SCOPE)
endfunction()

run_help(main_help)
# "commands:" lists "  name   summary" lines up to the next blank line.
string(REGEX MATCH "commands:\n(([ ]+[^\n]+\n)+)" _ "${main_help}")
string(REGEX MATCHALL "\n?  [a-z][a-z0-9-]*  +[^\n]+" command_lines
  "${CMAKE_MATCH_1}")
if(NOT command_lines)
  message(FATAL_ERROR "no 'commands:' list in '${PROGRAM} --help'")
endif()

string(TOUPPER "neuralart-train" title)
set(page ".TH ${title} 1 \"\" \"neuralart ${VERSION}\" \"User Commands\"\n")
string(APPEND page ".SH NAME\nneuralart\\-train \\- train GANs and style "
  "models for the neuralart GStreamer elements\n")
string(APPEND page ".SH SYNOPSIS\n.B neuralart\\-train\n"
  "\\fIcommand\\fR [\\fIoptions\\fR]\n.br\n.B neuralart\\-train\n"
  "\\fIcommand\\fR \\fB\\-\\-help\\fR\n")
troff_verbatim(block "${main_help}")
string(APPEND page ".SH DESCRIPTION\n${block}")
string(APPEND page ".SH COMMANDS\n")
foreach(line IN LISTS command_lines)
  string(REGEX MATCH "  ([a-z][a-z0-9-]*)  +([^\n]+)" _ "${line}")
  set(name "${CMAKE_MATCH_1}")
  set(summary "${CMAKE_MATCH_2}")
  run_help(help "${name}")
  string(REPLACE "-" "\\-" troff_name "${name}")
  string(REPLACE "\\" "\\e" summary "${summary}")
  string(REPLACE "-" "\\-" summary "${summary}")
  troff_verbatim(block "${help}")
  string(APPEND page ".SS neuralart\\-train ${troff_name}\n${summary}\n"
    ".PP\n${block}")
endforeach()
string(APPEND page ".SH ENVIRONMENT\n.TP\n.B NEURALART_MODEL_DIR\n"
  "Searched first for the default models (default\\-gan.bundle, "
  "default\\-style.bundle); then share/neuralart/models of the installed "
  "prefix, e.g. /usr/share/neuralart/models.\n")
string(APPEND page ".SH SEE ALSO\n"
  ".BR gst\\-inspect\\-1.0 (1),\n.BR gst\\-launch\\-1.0 (1);\n"
  "\\fBgst\\-inspect\\-1.0 styletransfer\\fR and "
  "\\fBgst\\-inspect\\-1.0 gansrc\\fR print the elements' manuals;\n"
  "/usr/share/doc/neuralart/README.md\n")
file(WRITE "${OUTPUT}.tmp" "${page}")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
