# frozen_string_literal: true

require 'json'

module Tds
  module Render
    module Core
      # What the user chose in the panel. The API key is kept apart from the rest: `to_h` and
      # `to_json` never include it, so nothing that serialises the options can leak it, and the
      # host stores it on its own (never in the model file).
      class Settings
        DEFAULTS = {
          'server_url' => 'http://localhost:8000',
          'scene_type' => 'exterior',
          'architectural_style' => nil,
          'lighting' => nil,
          'resolution' => '2k',
          'prompt' => '',
          'place_in_model' => false,
          'project' => nil
        }.freeze
        FIELDS = DEFAULTS.keys.freeze
        # Kept with the model (its attribute dictionary), not in the user's preferences.
        PER_MODEL = ['project'].freeze
        MAX_PROMPT = 2000
        MAX_PROJECT = 100

        attr_accessor(*(FIELDS - ['server_url']).map(&:to_sym))
        attr_reader :api_key, :server_url

        def initialize(values = {}, api_key = nil)
          DEFAULTS.each { |field, default| public_send("#{field}=", default) }
          update(values)
          self.api_key = api_key
        end

        def self.from_json(text, api_key: nil)
          values = text.to_s.strip.empty? ? {} : JSON.parse(text)
          new(values.is_a?(Hash) ? values : {}, api_key)
        rescue JSON::ParserError
          new({}, api_key)
        end

        # Takes known fields only (string or symbol keys); empty strings clear optional choices.
        def update(values)
          values.each do |key, value|
            field = key.to_s
            next unless FIELDS.include?(field)

            public_send("#{field}=", clean(field, value))
          end
          self
        end

        # Keys are pasted from a web page: drop the whitespace and quotes that come along.
        def api_key=(value)
          key = value.to_s.strip.delete("\"'\u00a0 \t\r\n")
          @api_key = key.empty? ? nil : key
        end

        def key?
          !api_key.nil?
        end

        def server_url=(value)
          url = value.to_s.strip.sub(%r{/+\z}, '')
          @server_url = url.empty? ? DEFAULTS['server_url'] : url
        end

        def to_h
          FIELDS.each_with_object({}) { |field, out| out[field] = public_send(field) }
        end

        def to_json(*args)
          to_h.to_json(*args)
        end

        # What goes into the user's preferences: everything but the per-model fields.
        def preferences_json
          to_h.reject { |field, _| PER_MODEL.include?(field) }.to_json
        end

        # Problems that stop a render before anything is sent, as sentences.
        def problems
          out = []
          out << 'Paste your API key in the tds settings.' unless key?
          out << 'The server address must start with http:// or https://.' unless server_url =~ %r{\Ahttps?://[^/\s]+}
          out << "The prompt is longer than #{MAX_PROMPT} characters." if prompt.to_s.length > MAX_PROMPT
          out << "The project code is longer than #{MAX_PROJECT} characters." if project.to_s.length > MAX_PROJECT
          out
        end

        private

        def clean(field, value)
          case field
          when 'place_in_model' then value == true || value.to_s == 'true'
          when 'prompt' then value.to_s
          when 'server_url', 'scene_type', 'resolution' then value.to_s.strip
          else
            text = value.to_s.strip
            text.empty? ? nil : text
          end
        end
      end
    end
  end
end
