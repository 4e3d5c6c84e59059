"""Test support, the one place test modules import helpers from: the pipeline's AWS resources
on moto from the synthesized template, the SQS pump, Lambda events, each pipeline's steps, the
local runtime as the e2e tests drive it, and waiting on conditions."""
