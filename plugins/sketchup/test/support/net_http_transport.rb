# frozen_string_literal: true

require 'net/http'
require 'uri'

module TdsTest
  # A blocking transport over Net::HTTP for the tests (and the stubbed Sketchup::Http). It is not
  # shipped in the .rbz: inside SketchUp the core talks through Sketchup::Http, which never blocks.
  class NetHttpTransport
    attr_reader :requests

    def initialize
      @requests = []
    end

    def call(request)
      @requests << request
      yield self.class.perform(request)
    end

    def self.perform(request)
      uri = URI(request.url)
      klass = request.method == :post ? Net::HTTP::Post : Net::HTTP::Get
      http_request = klass.new(uri)
      (request.headers || {}).each { |name, value| http_request[name] = value }
      http_request.body = request.body if request.body
      http = Net::HTTP.new(uri.host, uri.port)
      http.use_ssl = uri.scheme == 'https'
      http.open_timeout = request.timeout
      http.read_timeout = request.timeout
      response = http.start { |h| h.request(http_request) }
      headers = {}
      response.each_header { |name, value| headers[name] = value }
      Tds::Render::Core::Response.new(response.code.to_i, headers, response.body.to_s)
    rescue Net::OpenTimeout, Net::ReadTimeout
      Tds::Render::Core::Response.failure(:timeout)
    rescue SystemCallError, IOError, SocketError => e
      Tds::Render::Core::Response.failure(:network, e.class.name)
    end
  end
end
