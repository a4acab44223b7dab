# frozen_string_literal: true

module Tds
  module Render
    module Core
      # What the client hands a transport. `timeout` is in seconds.
      Request = Struct.new(:method, :url, :headers, :body, :timeout, keyword_init: true)

      # What a transport hands back: an HTTP answer, or `error` (:network or :timeout) when there
      # was none. Header names are matched case-insensitively.
      class Response
        attr_reader :status, :headers, :body, :error, :reason

        def initialize(status, headers = {}, body = '', error: nil, reason: nil)
          @status = status.to_i
          @headers = {}
          (headers || {}).each { |name, value| @headers[name.to_s.downcase] = value.to_s }
          @body = body.to_s
          @error = error
          @reason = reason
        end

        def self.failure(error, reason = nil)
          new(0, {}, '', error: error, reason: reason)
        end

        def failed?
          !error.nil?
        end

        def ok?
          !failed? && status >= 200 && status < 300
        end

        def header(name)
          headers[name.to_s.downcase]
        end

        # Retry-After in seconds (the API sends delta-seconds), or nil.
        def retry_after
          value = header('retry-after')
          value && value =~ /\A\s*\d+(\.\d+)?\s*\z/ ? value.to_f : nil
        end
      end
    end
  end
end
