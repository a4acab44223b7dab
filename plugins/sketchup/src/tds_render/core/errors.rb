# frozen_string_literal: true

require 'json'

module Tds
  module Render
    module Core
      # Every failure the user can see: an HTTP error from the API, no connection, a timeout, or
      # a render that failed. `kind` is one of KINDS; `message` is what the panel shows.
      # The mapping is shared with the C# plugins through plugins/contract/error_kinds.json.
      class ApiError < StandardError
        TITLES = {
          invalid_key: 'API key not accepted',
          no_key: 'No API key',
          no_credits: 'Not enough credits',
          plan_limit: 'Not in your plan',
          bad_request: 'Request refused',
          not_found: 'Not found',
          too_large: 'Image too large',
          rate_limited: 'Too many requests',
          render_failed: 'Render failed',
          unavailable: 'Server busy',
          server: 'Server error',
          network: 'No connection',
          timeout: 'No answer',
          canceled: 'Canceled',
          still_running: 'Still rendering',
          bad_response: 'Unexpected answer',
          capture: 'Capture failed'
        }.freeze
        KINDS = TITLES.keys.freeze

        BY_CODE = {
          'invalid_api_key' => :invalid_key,
          'login_required' => :invalid_key,
          'insufficient_credits' => :no_credits,
          'plan_limit' => :plan_limit,
          'not_found' => :not_found,
          'payload_too_large' => :too_large,
          'rate_limited' => :rate_limited,
          'internal_error' => :server,
          'model_failed' => :render_failed,
          'content_refused' => :render_failed,
          'geometry_drift' => :render_failed,
          'model_unavailable' => :unavailable
        }.freeze

        BY_STATUS = {
          400 => :bad_request, 401 => :invalid_key, 402 => :no_credits, 404 => :not_found,
          413 => :too_large, 429 => :rate_limited, 503 => :unavailable
        }.freeze

        # Kinds worth resending the same render POST for (same Idempotency-Key: never charged twice).
        RETRYABLE = %i[rate_limited server unavailable network timeout].freeze

        attr_reader :kind, :status, :code, :retry_after, :render_id, :detail

        def initialize(kind, detail, status: nil, code: nil, retry_after: nil, render_id: nil)
          raise ArgumentError, "unknown error kind #{kind.inspect}" unless TITLES.key?(kind)

          @kind = kind
          @detail = detail
          @status = status
          @code = code
          @retry_after = retry_after
          @render_id = render_id
          super("#{title}: #{detail}")
        end

        def title
          TITLES.fetch(kind)
        end

        def retryable?
          RETRYABLE.include?(kind)
        end

        # An answer with status >= 400, with or without the API's {"error": {...}} body.
        def self.from_response(status, body, retry_after: nil, server_url: nil)
          error = error_object(body)
          code = error && error['code'].is_a?(String) ? error['code'] : nil
          kind = (code && BY_CODE[code]) || kind_for_status(status)
          server_message = error && error['message'].is_a?(String) ? error['message'] : nil
          detail = detail_for(kind, status, server_message, retry_after, server_url)
          render_id = error && error['render_id']
          new(kind, detail, status: status, code: code, retry_after: retry_after, render_id: render_id)
        end

        def self.kind_for_status(status)
          BY_STATUS.fetch(status) { status >= 500 ? :server : :bad_request }
        end

        def self.error_object(body)
          parsed = body.is_a?(Hash) ? body : JSON.parse(body.to_s)
          parsed.is_a?(Hash) && parsed['error'].is_a?(Hash) ? parsed['error'] : nil
        rescue JSON::ParserError
          nil
        end

        def self.network(server_url, reason = nil)
          suffix = reason ? " (#{reason})" : ''
          new(:network, "Could not reach #{server_url}#{suffix}. Check your internet connection " \
                        'and the server address in the tds settings.')
        end

        def self.timeout(server_url, seconds)
          new(:timeout, "#{server_url} did not answer within #{seconds.round} s. Check your " \
                        'connection and try again: a render already started is never charged twice.')
        end

        def self.no_key
          new(:no_key, 'Paste your API key in the tds settings (dashboard: Settings → API keys).')
        end

        def self.detail_for(kind, status, server_message, retry_after, server_url)
          case kind
          when :invalid_key
            'The server did not accept this API key. Copy a key from the tds dashboard ' \
            '(Settings → API keys) and paste it in the tds settings.'
          when :no_credits
            server_message || 'Your balance does not cover this render. Buy credits, or choose a lower resolution.'
          when :rate_limited
            wait = retry_after ? "in #{retry_after.ceil} s" : 'in a minute'
            "The server asks to slow down. Try again #{wait}."
          when :unavailable
            "The render queue is full and nothing was charged. Try again #{retry_after ? "in #{retry_after.ceil} s" : 'shortly'}."
          when :render_failed
            "#{server_message || 'The engine could not finish this render.'} Your credits were refunded."
          when :not_found
            server_message || "#{server_url || 'The server'} has no tds API here (HTTP 404). Check the server address."
          when :server
            "The server had a problem (HTTP #{status}). Nothing was charged; try again."
          else
            server_message || "The server answered HTTP #{status}."
          end
        end
        private_class_method :error_object, :detail_for
      end
    end
  end
end
