# frozen_string_literal: true

require 'securerandom'

module Tds
  module Render
    module Core
      # The body and headers of POST /api/v1/renders, exactly as plugins/contract/render_request.json.
      module RenderRequest
        module_function

        def body(png, settings, source: SOURCE, kind: 'render', input_type: 'viewport')
          body = {
            'image_base64' => [png].pack('m0'),
            'kind' => kind,
            'scene_type' => settings.scene_type,
            'resolution' => settings.resolution
          }
          body['architectural_style'] = settings.architectural_style if settings.architectural_style
          body['lighting'] = settings.lighting if settings.lighting
          body['prompt'] = settings.prompt unless settings.prompt.to_s.strip.empty?
          body['input_type'] = input_type if input_type
          body['project'] = settings.project if settings.project
          body['source'] = source
          body
        end

        # One key per click, reused by every retry of that click.
        def idempotency_key
          SecureRandom.uuid
        end

        def headers(api_key, json_body: false, idempotency_key: nil, wait_seconds: nil)
          headers = {
            'Authorization' => "Bearer #{api_key}",
            'Accept' => 'application/json',
            'User-Agent' => "tds-sketchup/#{VERSION}"
          }
          headers['Content-Type'] = 'application/json' if json_body
          headers['Prefer'] = "wait=#{wait_seconds}" if wait_seconds
          headers['Idempotency-Key'] = idempotency_key if idempotency_key
          headers
        end
      end
    end
  end
end
