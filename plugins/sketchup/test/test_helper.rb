# frozen_string_literal: true

# Shared by every test file: `ruby -Iplugins/sketchup/test plugins/sketchup/test/<name>_test.rb`.
# The live tests read TDS_TEST_URL, TDS_TEST_KEY, TDS_TEST_EMPTY_KEY and TDS_TEST_IMAGE (see
# plugins/README.md); without them they skip.

require 'json'
require 'minitest/autorun'

SKETCHUP_ROOT = File.expand_path('..', __dir__)
SKETCHUP_SRC = File.join(SKETCHUP_ROOT, 'src')
CONTRACT_DIR = File.expand_path('../../contract', __dir__)

require File.join(SKETCHUP_SRC, 'tds_render', 'core')
require_relative 'support/net_http_transport'

module TdsTest
  Core = Tds::Render::Core

  module_function

  def vector(name)
    JSON.parse(File.read(File.join(CONTRACT_DIR, "#{name}.json"), encoding: 'UTF-8'))
  end

  def vector_response(name)
    data = vector(name)
    Core::Response.new(data['status'], data['headers'] || {}, JSON.generate(data['body']))
  end

  def live_env
    names = %w[TDS_TEST_URL TDS_TEST_KEY TDS_TEST_EMPTY_KEY TDS_TEST_IMAGE]
    missing = names.reject { |name| ENV[name] && !ENV[name].empty? }
    [names.map { |name| ENV[name] }, missing]
  end

  # Answers requests from a queue of Responses (or lambdas of the request) and records them.
  class FakeTransport
    attr_reader :requests

    def initialize(*responses)
      @responses = responses
      @requests = []
    end

    def push(*responses)
      @responses.concat(responses)
    end

    def call(request)
      @requests << request
      raise "unexpected request #{request.method} #{request.url}" if @responses.empty?

      response = @responses.shift
      yield response.respond_to?(:call) ? response.call(request) : response
    end
  end

  # Runs scheduled blocks at once and remembers the delays.
  class ImmediateScheduler
    attr_reader :delays

    def initialize
      @delays = []
    end

    def to_proc
      method(:call).to_proc
    end

    def call(seconds, &block)
      @delays << seconds
      block.call
    end
  end

  SLEEP_SCHEDULER = lambda do |seconds, &block|
    sleep(seconds)
    block.call
  end
end
