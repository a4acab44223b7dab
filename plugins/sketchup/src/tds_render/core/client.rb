# frozen_string_literal: true

require 'json'

module Tds
  module Render
    module Core
      # The outcome of a call: a value, or an ApiError.
      class Result
        attr_reader :value, :error

        def initialize(value, error)
          @value = value
          @error = error
        end

        def self.ok(value)
          new(value, nil)
        end

        def self.fail(error)
          new(nil, error)
        end

        def ok?
          error.nil?
        end
      end

      # A finished render and the balance after it.
      Outcome = Struct.new(:render, :credits) do
        def id
          render['id']
        end

        def output_url
          render['output_image_url']
        end
      end

      # The tds API, callback style, so it runs unchanged on SketchUp's main thread:
      #
      #   transport.call(Request) { |Response| ... }  # Sketchup::Http in SketchUp, Net::HTTP in tests
      #   scheduler.call(seconds) { ... }             # UI.start_timer in SketchUp
      #
      # Every method calls its block exactly once with a Result. Nothing here blocks or sleeps.
      class Client
        OPTIONS = {
          wait_seconds: 10,        # Prefer: wait=N on the POST, then poll with progress
          poll_interval: 1.5,      # between GET /renders/{id}
          max_poll_seconds: 900,   # then report :still_running (the render goes on on the server)
          max_retries: 2,          # resends of the POST for RETRYABLE errors, same Idempotency-Key
          max_retry_after: 10,     # longer Retry-After values are shown to the user instead
          post_timeout: 90,        # the POST uploads the image and waits up to wait_seconds
          get_timeout: 30,
          poll_failures: 3         # consecutive failed polls before giving up
        }.freeze

        attr_reader :server_url, :options

        def initialize(server_url:, api_key:, transport:, scheduler:, source: SOURCE,
                       clock: -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) }, **options)
          unknown = options.keys - OPTIONS.keys
          raise ArgumentError, "unknown options: #{unknown.join(', ')}" unless unknown.empty?

          @server_url = server_url.to_s.sub(%r{/+\z}, '')
          @api_key = api_key
          @transport = transport
          @scheduler = scheduler
          @source = source
          @clock = clock
          @options = OPTIONS.merge(options)
        end

        def me(&done)
          get_json('/api/v1/me', done) { |body| body }
        end

        def styles(&done)
          get_json('/api/v1/styles', done) { |body| Catalogue.new(body) }
        end

        # Sends the captured view and follows the render to its end. `on_progress` gets hashes
        # like {'status' => 'processing', 'progress' => 0.4, 'queue_position' => nil}.
        def render(png, settings, idempotency_key: RenderRequest.idempotency_key, on_progress: nil, &done)
          return done.call(Result.fail(ApiError.no_key)) unless @api_key

          body = JSON.generate(RenderRequest.body(png, settings, source: @source))
          job = { body: body, key: idempotency_key, progress: on_progress, done: done,
                  deadline: @clock.call + options[:max_poll_seconds], failures: 0 }
          post_render(job, 0)
        end

        def cancel(render_id, &done)
          request = build(:post, "/api/v1/renders/#{render_id}/cancel", options[:get_timeout])
          request_json(request, done) { |body| body['render'] }
        end

        # GET of an output file. The key goes only to the API's own host.
        def download(url, &done)
          headers = url.start_with?("#{server_url}/") ? RenderRequest.headers(@api_key) : {}
          headers.delete('Accept')
          request = Request.new(method: :get, url: url, headers: headers, body: nil, timeout: options[:post_timeout])
          @transport.call(request) do |response|
            if response.failed?
              done.call(Result.fail(transport_error(response, request)))
            elsif !response.ok?
              done.call(Result.fail(ApiError.from_response(response.status, response.body, server_url: server_url)))
            elsif Output.image_ext(response.body).nil?
              done.call(Result.fail(ApiError.new(:bad_response, "#{url} is not an image.")))
            else
              done.call(Result.ok(response.body.b))
            end
          end
        end

        private

        def post_render(job, attempt)
          headers = RenderRequest.headers(@api_key, json_body: true, idempotency_key: job[:key], wait_seconds: options[:wait_seconds])
          request = Request.new(method: :post, url: "#{server_url}/api/v1/renders", headers: headers,
                                body: job[:body], timeout: options[:post_timeout])
          @transport.call(request) do |response|
            error = response_error(response, request)
            if error.nil?
              envelope_from(response, job) { |envelope| follow(job, envelope) }
            elsif (delay = retry_delay(error, attempt))
              notify(job, 'status' => 'retrying', 'message' => "#{error.title}; retrying in #{delay.round} s")
              @scheduler.call(delay) { post_render(job, attempt + 1) }
            else
              job[:done].call(Result.fail(error))
            end
          end
        end

        def follow(job, envelope)
          render = envelope['render']
          case render['status']
          when 'done'
            job[:done].call(Result.ok(Outcome.new(render, envelope['credits'])))
          when 'failed'
            failure = render['error'] || {}
            job[:done].call(Result.fail(ApiError.new(
              :render_failed, "#{failure['message'] || 'The engine could not finish this render.'} Your credits were refunded.",
              code: failure['code'], render_id: render['id']
            )))
          when 'canceled'
            job[:done].call(Result.fail(ApiError.new(:canceled, 'The render was canceled; its credits were released.',
                                                     render_id: render['id'])))
          else
            notify(job, progress_of(render))
            if @clock.call >= job[:deadline]
              job[:done].call(Result.fail(ApiError.new(
                :still_running, "Render #{render['id']} is still running. Find it in the tds dashboard's gallery.",
                render_id: render['id']
              )))
            else
              @scheduler.call(options[:poll_interval]) { poll(job, render['id']) }
            end
          end
        end

        def poll(job, render_id)
          request = build(:get, "/api/v1/renders/#{render_id}", options[:get_timeout])
          @transport.call(request) do |response|
            error = response_error(response, request)
            if error.nil?
              job[:failures] = 0
              envelope_from(response, job) { |envelope| follow(job, envelope) }
            elsif error.retryable? && (job[:failures] += 1) < options[:poll_failures]
              @scheduler.call(options[:poll_interval]) { poll(job, render_id) }
            else
              job[:done].call(Result.fail(error))
            end
          end
        end

        def envelope_from(response, job)
          envelope = parse(response.body)
          if envelope.is_a?(Hash) && envelope['render'].is_a?(Hash) && envelope['render']['id']
            yield envelope
          else
            job[:done].call(Result.fail(ApiError.new(:bad_response, "#{server_url} did not answer like a tds server.")))
          end
        end

        def progress_of(render)
          progress = render['progress'] || {}
          max = progress['max'].to_f
          {
            'status' => render['status'],
            'progress' => max.positive? ? progress['value'].to_f / max : nil,
            'queue_position' => render['queue_position'],
            'render_id' => render['id']
          }
        end

        def notify(job, info)
          job[:progress]&.call(info)
        end

        def retry_delay(error, attempt)
          return nil unless error.retryable? && attempt < options[:max_retries]
          return error.retry_after if error.retry_after && error.retry_after <= options[:max_retry_after]
          return nil if error.retry_after

          2**attempt # 1 s, then 2 s
        end

        def build(method, path, timeout)
          Request.new(method: method, url: "#{server_url}#{path}", headers: RenderRequest.headers(@api_key),
                      body: nil, timeout: timeout)
        end

        def get_json(path, done, &convert)
          return done.call(Result.fail(ApiError.no_key)) unless @api_key

          request_json(build(:get, path, options[:get_timeout]), done, &convert)
        end

        def request_json(request, done)
          @transport.call(request) do |response|
            error = response_error(response, request)
            if error
              done.call(Result.fail(error))
            else
              body = parse(response.body)
              if body.is_a?(Hash)
                done.call(Result.ok(yield(body)))
              else
                done.call(Result.fail(ApiError.new(:bad_response, "#{server_url} did not answer like a tds server.")))
              end
            end
          end
        end

        def response_error(response, request)
          return transport_error(response, request) if response.failed?
          return nil if response.ok?

          ApiError.from_response(response.status, response.body, retry_after: response.retry_after, server_url: server_url)
        end

        def transport_error(response, request)
          if response.error == :timeout
            ApiError.timeout(server_url, request.timeout)
          else
            ApiError.network(server_url, response.reason)
          end
        end

        def parse(text)
          JSON.parse(text)
        rescue JSON::ParserError
          nil
        end
      end
    end
  end
end
